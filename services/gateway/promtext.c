/* promtext: merges Prometheus text expositions, one HELP, TYPE and block of samples per family. */
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} promtext_buf_t;

typedef struct {
    char *name;
    char *help; /* the whole "# HELP ..." line, or NULL */
    char *type; /* the whole "# TYPE ..." line, or NULL */
    promtext_buf_t samples;
} promtext_family_t;

typedef struct {
    promtext_family_t *items;
    size_t count, cap;
    int failed;
} promtext_families_t;

static void promtext__append(promtext_buf_t *buf, const char *s, size_t len)
{
    if (buf->failed)
        return;
    if (buf->len + len + 2 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (buf->len + len + 2 > cap)
            cap *= 2;
        char *bigger = realloc(buf->data, cap);
        if (bigger == NULL) {
            buf->failed = 1;
            return;
        }
        buf->data = bigger;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, s, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

static void promtext__append_line(promtext_buf_t *buf, const char *line, size_t len)
{
    promtext__append(buf, line, len);
    promtext__append(buf, "\n", 1);
}

static char *promtext__dup(const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

static promtext_family_t *promtext__family(promtext_families_t *fams, const char *name, size_t len)
{
    for (size_t i = 0; i < fams->count; i++)
        if (strlen(fams->items[i].name) == len && memcmp(fams->items[i].name, name, len) == 0)
            return &fams->items[i];
    if (fams->count == fams->cap) {
        size_t cap = fams->cap ? fams->cap * 2 : 32;
        promtext_family_t *bigger = realloc(fams->items, cap * sizeof(*bigger));
        if (bigger == NULL)
            return NULL;
        fams->items = bigger;
        fams->cap = cap;
    }
    promtext_family_t *fam = &fams->items[fams->count];
    memset(fam, 0, sizeof(*fam));
    fam->name = promtext__dup(name, len);
    if (fam->name == NULL)
        return NULL;
    fams->count++;
    return fam;
}

/* Whether a sample named name (len bytes) belongs to family fam: the name itself, or a histogram's
 * or summary's _bucket, _sum and _count series. */
static int promtext__belongs(const promtext_family_t *fam, const char *name, size_t len)
{
    size_t flen = strlen(fam->name);
    if (len < flen || memcmp(name, fam->name, flen) != 0)
        return 0;
    const char *rest = name + flen;
    size_t rlen = len - flen;
    return rlen == 0 || (rlen == 7 && memcmp(rest, "_bucket", 7) == 0) ||
           (rlen == 4 && memcmp(rest, "_sum", 4) == 0) || (rlen == 6 && memcmp(rest, "_count", 6) == 0);
}

static size_t promtext__name_len(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[n] != ' ' && s[n] != '\t' && s[n] != '{')
        n++;
    return n;
}

static void promtext__read(promtext_families_t *fams, const char *text)
{
    promtext_family_t *current = NULL;
    const char *p = text;
    while (*p != '\0' && !fams->failed) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *line = p;
        p = eol ? eol + 1 : p + len;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        int help = len > 7 && memcmp(line, "# HELP ", 7) == 0;
        int type = len > 7 && memcmp(line, "# TYPE ", 7) == 0;
        if (help || type) {
            size_t name_len = promtext__name_len(line + 7, len - 7);
            current = promtext__family(fams, line + 7, name_len);
            if (current == NULL) {
                fams->failed = 1;
                return;
            }
            char **slot = help ? &current->help : &current->type;
            if (*slot == NULL && (*slot = promtext__dup(line, len)) == NULL)
                fams->failed = 1;
            continue;
        }
        if (line[0] == '#')
            continue; /* any other comment */
        size_t name_len = promtext__name_len(line, len);
        if (current == NULL || !promtext__belongs(current, line, name_len)) {
            current = promtext__family(fams, line, name_len);
            if (current == NULL) {
                fams->failed = 1;
                return;
            }
        }
        promtext__append_line(&current->samples, line, len);
    }
}

char *gw_promtext_merge(const char *const *texts, size_t n)
{
    promtext_families_t fams = {0};
    for (size_t i = 0; i < n; i++)
        if (texts[i] != NULL)
            promtext__read(&fams, texts[i]);
    promtext_buf_t out = {0};
    promtext__append(&out, "", 0);
    for (size_t i = 0; i < fams.count; i++) {
        promtext_family_t *fam = &fams.items[i];
        if (fam->help)
            promtext__append_line(&out, fam->help, strlen(fam->help));
        if (fam->type)
            promtext__append_line(&out, fam->type, strlen(fam->type));
        if (fam->samples.data)
            promtext__append(&out, fam->samples.data, fam->samples.len);
        out.failed |= fam->samples.failed;
        free(fam->name);
        free(fam->help);
        free(fam->type);
        free(fam->samples.data);
    }
    free(fams.items);
    if (fams.failed || out.failed) {
        free(out.data);
        return NULL;
    }
    return out.data;
}
