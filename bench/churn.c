/* churn: single-threaded churn of small objects of mixed sizes, the way
 * compilers, interpreters and parsers use malloc: build a linked list and a
 * binary search tree with string keys, thin the list out at random, grow it
 * again, verify everything, tear it all down. Each of --threads workers does
 * this on its own data and never shares a block (--threads 1 is the classic
 * single-threaded case). Calls only the standard malloc API.
 */
#include "bench.h"

struct list_node {
    struct list_node *next;
    uint64_t tag;
    size_t len;
    unsigned char data[];
};

struct tree_node {
    struct tree_node *left, *right;
    char *key;
    size_t key_len;
    uint64_t value;
};

struct worker {
    struct bench_opts opts;
    int id;
    size_t rounds, list_len, tree_len;
    uint64_t checksum;
};

static struct list_node *list_push(struct list_node *head, struct bench_rng *r)
{
    size_t len = bench_small_size(r, 512);
    struct list_node *n = bench_check_alloc(malloc(sizeof(*n) + len), sizeof(*n) + len);
    n->next = head;
    n->tag = bench_next(r);
    n->len = len;
    bench_fill(n->data, len, n->tag);
    return n;
}

/* Frees each node with probability 1/2; returns the new head. */
static struct list_node *list_thin(struct list_node *head, struct bench_rng *r, size_t *count)
{
    struct list_node **link = &head;
    while (*link) {
        struct list_node *n = *link;
        if (bench_next(r) & 1) {
            if (!bench_check(n->data, n->len, n->tag))
                bench_fail("churn: list node corrupted before free");
            *link = n->next;
            free(n);
            (*count)--;
        } else {
            link = &n->next;
        }
    }
    return head;
}

static uint64_t list_free_all(struct list_node *head, size_t expect)
{
    uint64_t sum = 0;
    size_t count = 0;
    while (head) {
        struct list_node *next = head->next;
        if (!bench_check(head->data, head->len, head->tag))
            bench_fail("churn: list node corrupted");
        sum += head->tag ^ head->len;
        count++;
        free(head);
        head = next;
    }
    if (count != expect)
        bench_fail("churn: list has %zu nodes, expected %zu", count, expect);
    return sum;
}

static void tree_insert(struct tree_node **root, struct bench_rng *r)
{
    size_t key_len = 4 + (size_t)bench_below(r, 60);
    struct tree_node *n = bench_check_alloc(malloc(sizeof(*n)), sizeof(*n));
    n->key = bench_check_alloc(malloc(key_len + 1), key_len + 1);
    for (size_t i = 0; i < key_len; i++)
        n->key[i] = (char)('a' + bench_below(r, 26));
    n->key[key_len] = '\0';
    n->key_len = key_len;
    n->value = bench_next(r);
    n->left = n->right = NULL;
    while (*root)
        root = strcmp(n->key, (*root)->key) < 0 ? &(*root)->left : &(*root)->right;
    *root = n;
}

/* In-order walk: checks the search-tree order and each key's length. */
static void tree_verify(const struct tree_node *n, const char **prev, size_t *count, uint64_t *sum)
{
    while (n) {
        tree_verify(n->left, prev, count, sum);
        if (strlen(n->key) != n->key_len)
            bench_fail("churn: tree key corrupted");
        if (*prev && strcmp(*prev, n->key) > 0)
            bench_fail("churn: tree order broken");
        *prev = n->key;
        (*count)++;
        *sum += n->value + n->key_len;
        n = n->right;
    }
}

static void tree_free(struct tree_node *n)
{
    while (n) {
        struct tree_node *right = n->right;
        tree_free(n->left);
        free(n->key);
        free(n);
        n = right;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct bench_rng r = { w->opts.seed * 1000003u + (uint64_t)w->id };
    uint64_t sum = 0;
    for (size_t round = 0; round < w->rounds; round++) {
        struct list_node *list = NULL;
        struct tree_node *tree = NULL;
        size_t count = 0;
        for (size_t i = 0; i < w->list_len; i++, count++)
            list = list_push(list, &r);
        for (size_t i = 0; i < w->tree_len; i++)
            tree_insert(&tree, &r);
        list = list_thin(list, &r, &count);
        for (size_t i = 0; i < w->list_len / 2; i++, count++)
            list = list_push(list, &r);

        const char *prev = NULL;
        size_t tree_count = 0;
        tree_verify(tree, &prev, &tree_count, &sum);
        if (tree_count != w->tree_len)
            bench_fail("churn: tree has %zu nodes, expected %zu", tree_count, w->tree_len);
        sum += list_free_all(list, count);
        tree_free(tree);
    }
    w->checksum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_opts o = bench_parse(argc, argv, "churn: lists and trees of small mixed objects");
    struct worker *ws = bench_check_alloc(calloc((size_t)o.threads, sizeof(*ws)), 1);
    double t0 = bench_now();
    for (int i = 0; i < o.threads; i++) {
        ws[i].opts = o;
        ws[i].id = i;
        ws[i].rounds = bench_scaled(&o, 80, 1);
        ws[i].list_len = o.tiny ? 2000 : 20000;
        ws[i].tree_len = o.tiny ? 1000 : 10000;
    }
    bench_run_threads(o.threads, worker_main, ws, sizeof(*ws));
    uint64_t sum = 0;
    for (int i = 0; i < o.threads; i++)
        sum ^= ws[i].checksum;
    free(ws);
    bench_report("churn", bench_now() - t0, sum);
    return 0;
}
