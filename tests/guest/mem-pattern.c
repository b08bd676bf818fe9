/* mem-pattern: the guest fixture's memory check for migration tests.
 *
 *   mem-pattern MIB [dirty|idle]
 *
 * Takes MIB MiB of memory, locks it and fills every 64-bit word with a
 * value computed from the word's address and its page's generation.  Then,
 * forever, it walks the pages in order: each page is checked against what
 * was last written to it and, in "dirty" mode (the default), written again
 * with the next generation, so the whole area is dirtied continuously; in
 * "idle" mode pages are only checked.  It prints on the console
 *   "netpool-guest: mempattern pass N ok"      after a complete pass (at
 *                                              most one line a second)
 *   "netpool-guest: mempattern BAD page P word W"
 * for the first corrupted word it finds (then stops checking), so a test
 * reads from the serial log whether memory survived a migration intact. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS (PAGE / sizeof(uint64_t))

static uint64_t
value(uint64_t page, uint64_t word, uint64_t gen)
{
    uint64_t x = (page << 20) ^ (word << 4) ^ (gen * 0x9e3779b97f4a7c15ull);

    /* splitmix64's finalizer: every bit depends on every input bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int
main(int argc, char *argv[])
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
    int dirty = !(argc > 2 && !strcmp(argv[2], "idle"));
    size_t pages = mib * 1024 * 1024 / PAGE;
    uint64_t *area = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    uint32_t *gens = calloc(pages, sizeof *gens);

    if (area == MAP_FAILED || !gens || !pages) {
        printf("netpool-guest: mempattern cannot take %zu MiB\n", mib);
        return 1;
    }
    mlock(area, pages * PAGE);
    for (size_t p = 0; p < pages; p++) {
        for (size_t w = 0; w < WORDS; w++) {
            area[p * WORDS + w] = value(p, w, 0);
        }
    }
    printf("netpool-guest: mempattern %zu MiB %s\n", mib,
           dirty ? "dirty" : "idle");
    fflush(stdout);
    time_t reported = 0;
    for (unsigned long pass = 1;; pass++) {
        for (size_t p = 0; p < pages; p++) {
            uint64_t *page = &area[p * WORDS];
            for (size_t w = 0; w < WORDS; w++) {
                if (page[w] != value(p, w, gens[p])) {
                    printf("netpool-guest: mempattern BAD page %zu word %zu\n",
                           p, w);
                    fflush(stdout);
                    for (;;) {
                        pause();
                    }
                }
            }
            if (dirty) {
                gens[p]++;
                for (size_t w = 0; w < WORDS; w++) {
                    page[w] = value(p, w, gens[p]);
                }
            }
        }
        time_t now = time(NULL);
        if (now != reported) {
            /* At most one line a second: a small area passes often. */
            printf("netpool-guest: mempattern pass %lu ok\n", pass);
            fflush(stdout);
            reported = now;
        }
        if (!dirty) {
            sleep(1);
        }
    }
}
