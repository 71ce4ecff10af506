/* Fuzz target: the configuration parser must turn any file into either a configuration or an error
 * naming the fault, never a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tsr_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/tsr-fuzz-config-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(path, &err);
    if (config != NULL) {
        (void)tsr_config_get(config, "records.db_url", NULL);
        long n;
        (void)tsr_config_get_long(config, "records.db_pool", 4, 1, 64, &n, &err);
    } else if (err.message[0] == '\0') {
        abort(); /* a refusal must say why */
    }
    tsr_config_destroy(&config);
    unlink(path);
    return 0;
}
