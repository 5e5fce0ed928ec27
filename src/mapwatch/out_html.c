/* out_html.c: one self-contained HTML page (inline CSS, JS and SVG; no
 * network) that draws each address space over time: addresses down the page
 * with the empty gaps folded, events along the page, one band per region
 * state coloured by kind; every event is a table row linked to its picture.
 * The SVG is drawn here, so the page shows without script; the script adds
 * the cursor, selection and filtering. */
#include "output.h"

#include "decode.h"

#include <stdlib.h>
#include <string.h>

#define PLOT_X0 150.0
#define PLOT_W 900.0
#define FOLD_H 14.0

static void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A JSON string safe inside <script>: no "</script>" can appear. */
static void script_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static size_t find_bound(const uint64_t *b, size_t n, uint64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Height of a covered stretch of address space: logarithmic in its size, so
 * a 4 KiB guard page and a 1 GiB reservation are both visible. */
static double piece_height(uint64_t bytes)
{
    double pages = (double)(bytes / 4096 ? bytes / 4096 : 1);
    double h = 8.0; /* room for an address label */
    while (pages >= 2.0) {
        h += 2.2;
        pages /= 2.0;
    }
    return h > 44.0 ? 44.0 : h;
}

static void draw_space(FILE *f, const struct mw_report *r, unsigned space, double xs)
{
    const struct mw_bandlog *log = r->bands;
    size_t nb = 0, n = 0;
    for (size_t i = 0; i < log->count; i++)
        nb += log->bands[i].space_id == space;
    if (!nb)
        return;
    uint64_t *bounds = malloc(2 * nb * sizeof *bounds);
    pid_t pid = 0;
    for (size_t i = 0; i < log->count; i++) {
        const struct mw_band *b = &log->bands[i];
        if (b->space_id != space)
            continue;
        pid = b->pid;
        bounds[n++] = b->start;
        bounds[n++] = b->end;
    }
    qsort(bounds, n, sizeof *bounds, cmp_u64);
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        if (!nd || bounds[nd - 1] != bounds[i])
            bounds[nd++] = bounds[i];
    /* covered[i]: some band lies on [bounds[i], bounds[i+1]). */
    char *covered = calloc(nd ? nd : 1, 1);
    for (size_t i = 0; i < log->count; i++) {
        const struct mw_band *b = &log->bands[i];
        if (b->space_id != space)
            continue;
        for (size_t k = find_bound(bounds, nd, b->start); k + 1 < nd && bounds[k] < b->end; k++)
            covered[k] = 1;
    }
    /* y of each boundary, highest address at the top. */
    double *ypos = malloc((nd ? nd : 1) * sizeof *ypos);
    double y = 0;
    ypos[nd - 1] = 0;
    for (size_t i = nd - 1; i-- > 0;) {
        y += covered[i] ? piece_height(bounds[i + 1] - bounds[i]) : FOLD_H;
        ypos[i] = y;
    }
    double height = y + 30;
    const char *program = NULL;
    for (size_t i = 0; i < r->count; i++)
        if (r->events[i].space_id == space && r->events[i].path &&
            (r->events[i].type == MW_EV_EXEC || !strcmp(r->events[i].syscall, "attach")))
            program = r->events[i].path;
    fprintf(f, "<section class=\"space\"><h2>Address space %u &mdash; process %d ", space, (int)pid);
    html_text(f, program ? program : "");
    fprintf(f, "</h2>\n<svg id=\"space-%u\" class=\"pic\" data-space=\"%u\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" xmlns=\"http://www.w3.org/2000/svg\">\n",
            space, space, PLOT_X0 + PLOT_W + 10, height, PLOT_X0 + PLOT_W + 10, height);
    /* folded gaps and address labels */
    double last_label = -100;
    for (size_t i = nd - 1; i-- > 0;) {
        double top = ypos[i + 1], bottom = ypos[i];
        if (!covered[i]) {
            char size[32];
            fprintf(f, "<g class=\"fold\"><rect x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.1f\"/>"
                       "<text x=\"%.0f\" y=\"%.1f\">&#8942; %s unmapped</text></g>\n",
                    top + 2, PLOT_X0 + PLOT_W, bottom - top - 4, PLOT_X0 + 4, bottom - 4,
                    mw_size_str(bounds[i + 1] - bounds[i], size));
        }
        if ((i + 1 == nd - 1 || !covered[i + 1] || !covered[i]) && top - last_label >= 9) {
            fprintf(f, "<text class=\"addr\" x=\"2\" y=\"%.1f\">%#llx</text>\n", top + 8,
                    (unsigned long long)bounds[i + 1]);
            last_label = top;
        }
    }
    /* the bands */
    for (size_t i = 0; i < log->count; i++) {
        const struct mw_band *b = &log->bands[i];
        if (b->space_id != space)
            continue;
        size_t ks = find_bound(bounds, nd, b->start), ke = find_bound(bounds, nd, b->end);
        double y0 = ypos[ke], y1 = ypos[ks];
        char perm[4], size[32];
        fprintf(f, "<rect class=\"band k-%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                   "data-f=\"%llu\" data-t=\"%llu\"><title>%#llx-%#llx %s %s%c %s ",
                mw_kind_name(b->kind), PLOT_X0 + (double)b->from_seq * xs, y0,
                (double)(b->to_seq - b->from_seq) * xs > 0.6 ? (double)(b->to_seq - b->from_seq) * xs : 0.6,
                y1 - y0 > 1 ? y1 - y0 : 1, (unsigned long long)b->from_seq, (unsigned long long)b->to_seq,
                (unsigned long long)b->start, (unsigned long long)b->end, mw_size_str(b->end - b->start, size),
                mw_prot_str(b->prot, perm), b->shared ? 's' : 'p', mw_kind_name(b->kind));
        html_text(f, b->path ? b->path : "");
        fprintf(f, " (events %llu-%llu)</title></rect>\n", (unsigned long long)b->from_seq,
                (unsigned long long)b->to_seq);
    }
    /* findings and execs marked on the time axis */
    for (size_t i = 0; i < r->count; i++) {
        const struct mw_event *ev = &r->events[i];
        if (ev->space_id != space || !(ev->findings || ev->type == MW_EV_EXEC || ev->type == MW_EV_MISMATCH))
            continue;
        double x = PLOT_X0 + ((double)ev->seq + 0.5) * xs;
        fprintf(f, "<a href=\"#ev-%llu\"><path class=\"mark %s\" d=\"M%.2f %.1f l-4 -8 h8 z\"/></a>\n",
                (unsigned long long)ev->seq, ev->findings ? "m-finding" : ev->type == MW_EV_EXEC ? "m-exec" : "m-mismatch",
                x, height - 2);
    }
    fprintf(f, "<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"0\" y2=\"%.0f\" visibility=\"hidden\"/>\n", height - 12);
    fprintf(f, "</svg></section>\n");
    free(bounds);
    free(covered);
    free(ypos);
}

static const char css[] =
    "body{font:13px/1.35 system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 4px}"
    ".pic{background:#fff;border:1px solid #ccc;display:block;max-width:100%;height:auto;cursor:crosshair}"
    ".addr{font:10px monospace;fill:#555}.fold rect{fill:url(#hatch);fill:#eee;stroke:#bbb;stroke-dasharray:3 3}"
    ".fold text{font:10px sans-serif;fill:#888}.band{stroke:#0003;stroke-width:.3}.band.live{stroke:#000;stroke-width:1.5}"
    ".k-text{fill:#d9534f}.k-data{fill:#f0ad4e}.k-bss{fill:#f7d28c}.k-heap{fill:#5cb85c}.k-stack{fill:#337ab7}"
    ".k-thread-stack{fill:#7fb3e0}.k-anon{fill:#9b59b6}.k-file{fill:#95a5a6}.k-shared{fill:#1abc9c}"
    ".k-guard{fill:#ccc}.k-vdso{fill:#555}.mark{stroke:none}.m-finding{fill:#c00}.m-exec{fill:#06c}"
    ".m-mismatch{fill:#f80}.cursor{stroke:#000;stroke-width:1.5}"
    ".legend span{display:inline-block;margin-right:10px}.legend i{display:inline-block;width:12px;height:12px;"
    "margin-right:3px;vertical-align:-2px}"
    "table{border-collapse:collapse;font:12px monospace;width:100%}td,th{padding:1px 6px;border-bottom:1px solid #eee;"
    "text-align:left;vertical-align:top}tr.ev{cursor:pointer}tr.ev:hover{background:#eef}tr.sel{background:#ffd}"
    "tr.finding td.call{color:#c00;font-weight:bold}tr.mismatch{background:#fee}tr.implicit td.call{color:#06c}"
    "#events{max-height:60vh;overflow:auto;border:1px solid #ccc;background:#fff}"
    ".summary td{font:12px monospace}#status{color:#666}";

static const char script[] =
    "(function(){\n"
    "var data=JSON.parse(document.getElementById('mw-data').textContent);\n"
    "var X0=data.x0,XS=data.xs,rows={},sel=null;\n"
    "document.querySelectorAll('tr.ev').forEach(function(r){rows[r.dataset.seq]=r;"
    "r.addEventListener('click',function(){select(+r.dataset.seq,false);});});\n"
    "function select(seq,fromPic){var e=data.events[seq];if(!e)return;\n"
    " if(sel)sel.classList.remove('sel');sel=rows[seq];if(sel){sel.classList.add('sel');"
    "if(fromPic)sel.scrollIntoView({block:'nearest'});}\n"
    " document.querySelectorAll('svg.pic').forEach(function(svg){var c=svg.querySelector('.cursor');"
    "var x=X0+(seq+0.5)*XS;c.setAttribute('x1',x);c.setAttribute('x2',x);c.setAttribute('visibility','visible');\n"
    "  svg.querySelectorAll('.band').forEach(function(b){var live=+b.dataset.f<=seq&&seq<+b.dataset.t;"
    "b.classList.toggle('live',live&&+svg.dataset.space===e.space);});});\n"
    " var pic=document.getElementById('space-'+e.space);if(pic&&!fromPic)pic.scrollIntoView({block:'nearest'});\n"
    " document.getElementById('status').textContent='event #'+seq+': '+e.text;location.hash='ev-'+seq;}\n"
    "document.querySelectorAll('svg.pic').forEach(function(svg){svg.addEventListener('click',function(ev){\n"
    " var pt=svg.createSVGPoint();pt.x=ev.clientX;pt.y=ev.clientY;var p=pt.matrixTransform(svg.getScreenCTM().inverse());\n"
    " var seq=Math.floor((p.x-X0)/XS);var sp=+svg.dataset.space;\n"
    " for(var d=0;d<data.events.length;d++){if(data.events[seq+d]&&data.events[seq+d].space===sp){seq+=d;break;}"
    "if(data.events[seq-d]&&data.events[seq-d].space===sp){seq-=d;break;}}\n"
    " select(seq,true);});});\n"
    "var f=document.getElementById('filter');f.addEventListener('input',function(){var q=f.value.toLowerCase();\n"
    " for(var k in rows){rows[k].style.display=!q||rows[k].textContent.toLowerCase().indexOf(q)>=0?'':'none';}});\n"
    "document.getElementById('status').textContent=data.events.length+' events, '+"
    "document.querySelectorAll('.band').length+' bands drawn; click an event or a picture';\n"
    "if(location.hash.indexOf('#ev-')===0)select(+location.hash.slice(4),true);\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n";

static void event_row(FILE *f, const struct mw_event *ev)
{
    const char *cls = ev->type == MW_EV_MISMATCH ? " mismatch" : ev->type != MW_EV_SYSCALL ? " implicit" : "";
    fprintf(f, "<tr class=\"ev%s%s\" id=\"ev-%llu\" data-seq=\"%llu\"><td>%llu</td><td>%.6f</td><td>%d", cls,
            ev->findings ? " finding" : "", (unsigned long long)ev->seq, (unsigned long long)ev->seq,
            (unsigned long long)ev->seq, ev->time, (int)ev->pid);
    if (ev->tid != ev->pid)
        fprintf(f, "/%d", (int)ev->tid);
    fprintf(f, "</td><td class=\"call\"><a href=\"#space-%u\">", ev->space_id);
    html_text(f, ev->syscall);
    fputs("</a>", f);
    char perm[4], size[32];
    if (ev->type == MW_EV_SYSCALL) {
        fprintf(f, " %#llx %s", (unsigned long long)ev->addr, mw_size_str(ev->length, size));
        if (ev->have & MW_HAVE_PROT)
            fprintf(f, " %s", mw_prot_str(ev->prot, perm));
        if (ev->have & MW_HAVE_ADVICE)
            fprintf(f, " %s", mw_advice_name(ev->advice));
        if (ev->err)
            fprintf(f, " = -1 %s", mw_errno_name(ev->err));
    }
    fputs("</td><td>", f);
    if (ev->have & MW_HAVE_KIND)
        fputs(mw_kind_name(ev->kind), f);
    fputs("</td><td>", f);
    html_text(f, ev->change ? ev->change : ev->note);
    if (ev->reason[0]) {
        fputs(" [mapalloc: ", f);
        html_text(f, ev->reason);
        fputs("]", f);
    }
    if (ev->findings) {
        fputs(" <b>", f);
        html_text(f, ev->findings);
        fputs("</b>", f);
    }
    fputs("</td><td>", f);
    html_text(f, ev->caller ? ev->caller : (ev->type != MW_EV_SYSCALL ? ev->path : NULL));
    fputs("</td></tr>\n", f);
}

int mw_html_write(FILE *f, const struct mw_report *r)
{
    double xs = PLOT_W / (double)(r->count ? r->count : 1);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>mapwatch: ", f);
    html_text(f, r->program ? r->program : "attached process");
    fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n<h1>mapwatch: ", css);
    html_text(f, r->program ? r->program : "attached process");
    fprintf(f, "</h1>\n<p>%zu events over %.3f s; %s. Addresses run down each picture (highest first, empty gaps "
               "folded, heights logarithmic in size), events run left to right. Hover a band for its region; "
               "click a band or an event.</p>\n",
            r->count, r->duration, r->seccomp ? "stops at memory calls only (seccomp)" : "stops at every call");
    fputs("<div class=\"legend\">", f);
    for (int k = 0; k < MW_KIND_COUNT; k++)
        fprintf(f, "<span><svg width=\"12\" height=\"12\"><rect class=\"k-%s\" width=\"12\" height=\"12\"/>"
                   "</svg> %s</span>",
                mw_kind_name((enum mw_kind)k), mw_kind_name((enum mw_kind)k));
    fputs("</div>\n<p id=\"status\"></p>\n", f);
    if (r->final_maps && r->final_maps->count) {
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        mw_text_kind_table(mem, r->final_maps->regions, r->final_maps->count);
        fclose(mem);
        fputs("<h2>Layout at the end (kernel's smaps)</h2><pre class=\"summary\">", f);
        html_text(f, buf);
        fputs("</pre>\n", f);
        free(buf);
    }
    unsigned max_space = 0;
    for (size_t i = 0; i < r->bands->count; i++)
        if (r->bands->bands[i].space_id > max_space)
            max_space = r->bands->bands[i].space_id;
    for (unsigned s = 1; s <= max_space; s++)
        draw_space(f, r, s, xs);
    fputs("<h2>Events</h2><p><input id=\"filter\" placeholder=\"filter events\" size=\"40\"></p>\n"
          "<div id=\"events\"><table><thead><tr><th>#</th><th>time</th><th>pid</th><th>call</th><th>kind</th>"
          "<th>what it did</th><th>caller</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < r->count; i++)
        event_row(f, &r->events[i]);
    fputs("</tbody></table></div>\n<script type=\"application/json\" id=\"mw-data\">", f);
    fprintf(f, "{\"x0\":%.1f,\"xs\":%.6f,\"events\":[", PLOT_X0, xs);
    for (size_t i = 0; i < r->count; i++) {
        const struct mw_event *ev = &r->events[i];
        char text[512];
        snprintf(text, sizeof text, "%s %#llx %llu %s", ev->syscall, (unsigned long long)ev->addr,
                 (unsigned long long)ev->length, ev->change ? ev->change : ev->note ? ev->note : "");
        fprintf(f, "%s\n{\"seq\":%llu,\"space\":%u,\"text\":", i ? "," : "", (unsigned long long)ev->seq, ev->space_id);
        script_string(f, text);
        fputc('}', f);
    }
    fprintf(f, "]}</script>\n<script>%s</script>\n</body></html>\n", script);
    return ferror(f) ? -1 : 0;
}
