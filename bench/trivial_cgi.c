/* The CGI floor for bench/run: the least a compiled CGI program can do.
 * Prints one fixed HTML page of PAGE_BYTES bytes (bench/run passes the size of
 * roost's "/" so both move the same number of bytes) with one write(2).
 * Build static: musl-gcc -O2 -static -DPAGE_BYTES=N -o trivial.cgi trivial_cgi.c */
#include <string.h>
#include <unistd.h>

#ifndef PAGE_BYTES
#define PAGE_BYTES 10240
#endif

static const char HDR[] = "Content-Type: text/html; charset=utf-8\r\n\r\n";
static const char HEAD[] =
    "<!doctype html>\n<html><head><title>floor</title></head><body>\n";
static const char TAIL[] = "</body></html>\n";
static const char LINE[] =
    "<p>The quick brown fox jumps over the lazy dog, fixed page text.</p>\n";

static char buf[sizeof HDR + PAGE_BYTES + sizeof LINE + sizeof TAIL];

int main(void) {
    size_t head = sizeof HDR - 1, n = head;
    memcpy(buf, HDR, n);
    memcpy(buf + n, HEAD, sizeof HEAD - 1);
    n += sizeof HEAD - 1;
    while (n - head + sizeof LINE - 1 + sizeof TAIL - 1 <= PAGE_BYTES) {
        memcpy(buf + n, LINE, sizeof LINE - 1);
        n += sizeof LINE - 1;
    }
    while (n - head + sizeof TAIL - 1 < PAGE_BYTES) buf[n++] = ' ';
    memcpy(buf + n, TAIL, sizeof TAIL - 1);
    n += sizeof TAIL - 1;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(1, buf + off, n - off);
        if (w <= 0) return 1;
        off += (size_t)w;
    }
    return 0;
}
