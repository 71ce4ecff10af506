#include "tsr_json.h"

#include <stdio.h>
#include <string.h>

#include "tsr_text.h"

/* The words for a fault of JSON's syntax, which jansson gives one code (json_error_invalid_syntax)
 * and tells apart only in its text: the start of that text, and what to say instead. */
static const struct {
    const char *starts;
    const char *words;
} json__syntax[] = {
    {"unexpected newline", "a string runs on past the end of its line: end it with a double quote, or write "
                           "a line break in it as \\n"},
    {"control character", "a string holds a control character, such as a tab: write it escaped (\\t, \\n) "
                          "or leave it out"},
    {"invalid escape", "a backslash in a string starts an escape JSON does not have: write a backslash "
                       "itself as \\\\"},
    {"invalid Unicode", "a \\u escape in a string is not a character (half of a pair that is not whole)"},
    {"invalid token", "a value is not one JSON has: text goes in double quotes, and true, false and null "
                      "in lower case"},
    {"'[' or '{' expected", "it is not a JSON object: send one, starting with {"},
    {"string or '}' expected", "a member's name is missing or not in double quotes"},
    {"':' expected", "a ':' is missing between a member's name and its value"},
    {"'}' expected", "a ',' between two members, or the '}' that ends the object, is missing"},
    {"']' expected", "a ',' between two items, or the ']' that ends the list, is missing"},
    {"unexpected token", "a value is missing or out of place (a ',' with nothing after it, say)"},
};

static const char *json__words(const json_error_t *jerr)
{
    switch (json_error_code(jerr)) {
    case json_error_invalid_utf8:
        return "a byte of it is not UTF-8: send the text encoded as UTF-8";
    case json_error_premature_end_of_input:
        return "it ends too soon: a value, or the quote, ']' or '}' that closes one, is missing";
    case json_error_end_of_input_expected:
        return "there is more after the JSON value has ended: send one value alone";
    case json_error_stack_overflow:
        return "it nests objects and lists more deeply than can be read";
    case json_error_numeric_overflow:
        return "a number is too large to be read";
    case json_error_null_character:
        return "a string holds a NUL character (\\u0000), which no text may hold: remove it";
    case json_error_null_byte_in_key:
        return "a member's name holds a NUL character (\\u0000), which no name may hold: remove it";
    case json_error_duplicate_key:
        return "an object gives the same member twice: give each once";
    case json_error_out_of_memory:
        return "it could not be read for want of memory here; try again";
    case json_error_cannot_open_file:
        return NULL; /* "unable to open FILE: No such file or directory": plain words already */
    case json_error_invalid_syntax:
        for (size_t i = 0; i < sizeof(json__syntax) / sizeof(json__syntax[0]); i++)
            if (strncmp(jerr->text, json__syntax[i].starts, strlen(json__syntax[i].starts)) == 0)
                return json__syntax[i].words;
        return "a ',', ':', quote, bracket or brace is missing or out of place";
    default:
        return "it cannot be read as JSON";
    }
}

void tsr_json_error_words(const json_error_t *jerr, char *out, size_t size)
{
    /* json_load_file gives a file it could not open line -1 and column -1: no place to name. */
    if (jerr->line < 1) {
        snprintf(out, size, "it cannot be read: %s", jerr->text);
        return;
    }
    const char *words = json__words(jerr);
    if (words == NULL) {
        snprintf(out, size, "%s", jerr->text);
        return;
    }
    /* "unable to decode byte 0xeb": the byte is worth naming (a Latin-1 letter, say). */
    char utf8[96];
    const char *byte =
        json_error_code(jerr) == json_error_invalid_utf8 ? strstr(jerr->text, "byte 0x") : NULL;
    if (byte != NULL) {
        snprintf(utf8, sizeof(utf8), "the byte %.4s is not UTF-8: send the text encoded as UTF-8", byte + 5);
        words = utf8;
    }
    /* jansson ends its text with the token it stopped at, " near 'tru'" (the caller's own text, and
     * worth showing), or " near end of file". */
    const char *near = strstr(jerr->text, " near '");
    int shown = 0;
    if (near != NULL) {
        near += strlen(" near ");
        shown = (int)strlen(near);
        if (shown > 42)
            shown = 42;
    }
    snprintf(out, size, "%s (line %d, column %d%s%.*s%s)", words, jerr->line, jerr->column,
             near ? ", near " : "", shown, near ? near : "",
             near && strlen(near) > (size_t)shown ? "..." : "");
    tsr_text_utf8_clean(out); /* the token, cut inside a character */
}

/* Appends to path (used bytes of size) the step to a member ("a.b") or an item ("a[2]"). */
static size_t json__step(char *path, size_t size, size_t used, const char *key, size_t index)
{
    if (used >= size)
        return used;
    int n = key != NULL ? snprintf(path + used, size - used, "%s%s", used ? "." : "", key)
                        : snprintf(path + used, size - used, "[%zu]", index);
    return n < 0 ? used : used + (size_t)n;
}

/* Whether a string within value holds a NUL, and path where the first is. */
static int json__find_nul(const json_t *value, char *path, size_t size, size_t used)
{
    if (json_is_string(value))
        return strlen(json_string_value(value)) != json_string_length(value);
    if (json_is_object(value)) {
        const char *key;
        const json_t *member;
        json_object_foreach((json_t *)value, key, member)
        {
            size_t at = json__step(path, size, used, key, 0);
            if (json__find_nul(member, path, size, at))
                return 1;
            if (used < size)
                path[used] = '\0';
        }
    } else if (json_is_array(value)) {
        size_t i;
        const json_t *item;
        json_array_foreach(value, i, item)
        {
            size_t at = json__step(path, size, used, NULL, i);
            if (json__find_nul(item, path, size, at))
                return 1;
            if (used < size)
                path[used] = '\0';
        }
    }
    return 0;
}

json_t *tsr_json_load(const char *text, size_t len, const char *what, tsr_error_t *err)
{
    json_error_t jerr;
    /* NULs let through the parser, to be named by where they are below. */
    json_t *value = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (value == NULL) {
        char words[400];
        tsr_json_error_words(&jerr, words, sizeof(words));
        int nul = json_error_code(&jerr) == json_error_null_byte_in_key;
        tsr_error_set(err, TSR_E_INVALID, nul ? "invalid_characters" : "malformed_json", NULL,
                      "%s is not valid JSON: %s.", what, words);
        return NULL;
    }
    char path[sizeof(err->field)] = "";
    if (json__find_nul(value, path, sizeof(path), 0)) {
        json_decref(value);
        tsr_text_utf8_clean(path); /* a long path cut inside a character */
        if (path[0] == '\0')
            tsr_error_set(err, TSR_E_INVALID, "invalid_characters", NULL,
                          "%s holds a NUL character (\\u0000), which no text may hold: remove it.", what);
        else
            tsr_error_set(err, TSR_E_INVALID, "invalid_characters", path,
                          "%s may not contain a NUL character (\\u0000): remove it.", path);
        return NULL;
    }
    return value;
}
