/* The FastCGI floor for bench/run: a libfcgi responder (the fcgi_stdio loop)
 * that answers every request with one fixed HTML page of PAGE_BYTES bytes
 * (bench/run passes the size of roost's "/").
 * (FCGI_printf formats by itself and knows no %zu.)
 * Build: gcc -O2 -DPAGE_BYTES=N -o trivial.fcgi trivial_fcgi.c -lfcgi */
#include <fcgi_stdio.h>
#include <string.h>

#ifndef PAGE_BYTES
#define PAGE_BYTES 10240
#endif

static const char HEAD[] =
    "<!doctype html>\n<html><head><title>floor</title></head><body>\n";
static const char TAIL[] = "</body></html>\n";
static const char LINE[] =
    "<p>The quick brown fox jumps over the lazy dog, fixed page text.</p>\n";

static char page[PAGE_BYTES + sizeof LINE + sizeof TAIL];

int main(void) {
    size_t n = sizeof HEAD - 1;
    memcpy(page, HEAD, n);
    while (n + sizeof LINE - 1 + sizeof TAIL - 1 <= PAGE_BYTES) {
        memcpy(page + n, LINE, sizeof LINE - 1);
        n += sizeof LINE - 1;
    }
    while (n + sizeof TAIL - 1 < PAGE_BYTES) page[n++] = ' ';
    memcpy(page + n, TAIL, sizeof TAIL - 1);
    n += sizeof TAIL - 1;
    while (FCGI_Accept() >= 0) {
        printf("Content-Type: text/html; charset=utf-8\r\nContent-Length: %lu\r\n\r\n", (unsigned long)n);
        fwrite(page, 1, n, stdout);
    }
    return 0;
}
