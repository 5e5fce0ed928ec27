/* out_html.c: placeholder replaced below. */
#include "output.h"

int mw_html_write(FILE *f, const struct mw_report *r)
{
    (void)r;
    fputs("<!doctype html><title>mapwatch</title>\n", f);
    return 0;
}
