/* tessera curve keypair SECRET_FILE: a key pair for one process of the suite on a CURVE bus. The
 * secret key goes to a new file that only its owner can read; the public key is printed, for the
 * process's curve_public_key in every process's configuration (tsr_curve.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tsr_curve.h"

int cli_curve_keypair(cli_context_t *ctx, int argc, char **argv)
{
    (void)ctx;
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "usage: tessera curve keypair SECRET_FILE\n");
        return 2;
    }
    char public_key[41], secret_key[41];
    tsr_error_t err;
    if (tsr_curve_keypair(public_key, secret_key, &err) != 0) {
        fprintf(stderr, "tessera: %s\n", err.message);
        return 1;
    }
    /* A new file only: a key pair in use is never overwritten by mistake. */
    int fd = open(argv[0], O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "tessera: cannot create %s: %s%s\n", argv[0], strerror(errno),
                errno == EEXIST ? " (a secret key is never overwritten; remove the file first)" : "");
        return 1;
    }
    char line[43];
    int len = snprintf(line, sizeof(line), "%s\n", secret_key);
    int ok = write(fd, line, (size_t)len) == len;
    ok = close(fd) == 0 && ok;
    memset(secret_key, 0, sizeof(secret_key));
    memset(line, 0, sizeof(line));
    if (!ok) {
        fprintf(stderr, "tessera: cannot write %s: %s\n", argv[0], strerror(errno));
        unlink(argv[0]);
        return 1;
    }
    printf("%s\n", public_key);
    return 0;
}
