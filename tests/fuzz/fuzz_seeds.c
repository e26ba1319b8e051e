/*
 * Writing seed inputs (fuzz_seeds.h).
 */
#include "fuzz_seeds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fuzz_seeds_dir(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--write-seeds") == 0) {
            return argv[i + 1];
        }
    }
    return NULL;
}

void fuzz_seed_write(const char *dir, const char *name, const void *bytes, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write seed %s\n", path);
        exit(1);
    }
    printf("%s: %zu bytes\n", path, len);
}
