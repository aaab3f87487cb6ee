/* Runs a fuzz target's entry point once on every file of the given folders or files, without
 * libFuzzer: the corpus as a regression test in the normal build (tests/unit/fuzz.cmake). */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static char current[4096]; /* the input being run, named when it crashes */

static void on_crash(int sig)
{
    static const char prefix[] = "replay: crashed on ";
    (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
    (void)!write(STDERR_FILENO, current, strnlen(current, sizeof current));
    (void)!write(STDERR_FILENO, "\n", 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

static bool run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t cap = 4096, len = 0, got;
    uint8_t *data = malloc(cap);
    while (data != NULL && (got = fread(data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(data, cap * 2);
            if (bigger == NULL)
                free(data);
            data = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (data == NULL)
        return false;
    snprintf(current, sizeof current, "%s", path);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return true;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Returns the number of inputs run from path (a file or a folder of files), -1 on failure. */
static long run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return run_file(path) ? 1 : -1;
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0)
        return -1;
    long runs = 0;
    for (int i = 0; i < n; i++) {
        char file[4096];
        if (names[i]->d_name[0] != '.' &&
            snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name) < (int)sizeof file &&
            stat(file, &st) == 0 && S_ISREG(st.st_mode))
            runs += run_file(file) ? 1 : 0;
        free(names[i]);
    }
    free(names);
    return runs;
}

int main(int argc, char **argv)
{
    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    LLVMFuzzerInitialize(&argc, &argv);
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long runs = run_path(argv[i]);
        if (runs < 0) {
            fprintf(stderr, "replay: cannot read '%s'\n", argv[i]);
            return 2;
        }
        total += runs;
    }
    printf("replay: %ld inputs ran\n", total);
    return total > 0 ? 0 : 1;
}
