// cxx.cpp: a C++ program on mapalloc: new/delete (plain, array, sized,
// over-aligned), std::string, std::vector, std::map and std::unordered_map
// under load in several threads, containers built in one thread and
// destroyed in another. Every value is recomputed and compared.
// Run with LD_PRELOAD=libmapalloc.so.
#include <dlfcn.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

int failures = 0;
std::mutex failures_lock;

void fail(const char *what, long i) {
    std::lock_guard<std::mutex> g(failures_lock);
    if (failures++ < 10) std::fprintf(stderr, "FAIL: %s (item %ld)\n", what, i);
}

std::string value_of(long i) {
    std::string s = "value-" + std::to_string(i * 2654435761u % 1000003) + "-";
    s.append(static_cast<size_t>(i % 97), static_cast<char>('a' + i % 26));
    return s;
}

struct alignas(256) Aligned {
    unsigned char bytes[300];
};

// One thread's workload; returns a map for another thread to check and destroy.
std::map<long, std::string> *work(long seed) {
    auto *m = new std::map<long, std::string>;
    std::unordered_map<std::string, long> back;
    std::vector<std::vector<long>> vv;
    for (long i = 0; i < 30000; i++) {
        long k = seed * 1000000 + i;
        (*m)[k] = value_of(k);
        back[value_of(k)] = k;
        if (i % 10 == 0) vv.emplace_back(static_cast<size_t>(i % 300), k);
        if (i % 3 == 0) m->erase(k - 2);
    }
    for (const auto &kv : *m)
        if (kv.second != value_of(kv.first)) fail("map value", kv.first);
    for (const auto &kv : back)
        if (kv.first != value_of(kv.second)) fail("unordered_map key", kv.second);
    for (const auto &v : vv)
        for (long x : v)
            if (x != v.front()) fail("vector element", x);
    // Arrays, sized delete, over-aligned new.
    for (long i = 0; i < 2000; i++) {
        auto *arr = new long[static_cast<size_t>(i % 500 + 1)];
        arr[i % 500] = i;
        if (arr[i % 500] != i) fail("array", i);
        delete[] arr;
        auto *a = new Aligned;
        if (reinterpret_cast<uintptr_t>(a) % 256 != 0) fail("alignas(256) new", i);
        std::memset(a->bytes, static_cast<int>(i), sizeof(a->bytes));
        delete a;
        auto u = std::make_unique<std::string>(static_cast<size_t>(i * 37 % 5000), 'z');
        if (u->size() != static_cast<size_t>(i * 37 % 5000)) fail("string size", i);
    }
    std::vector<Aligned> va(100);
    if (reinterpret_cast<uintptr_t>(va.data()) % 256 != 0) fail("vector<alignas(256)>", 0);
    return m;
}

}  // namespace

int main() {
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    const char *allow = std::getenv("TEST_ALLOW_OTHER_MALLOC");
    if (!(m && dladdr(m, &info) && info.dli_fname && std::strstr(info.dli_fname, "mapalloc")) &&
        !(allow && std::strcmp(allow, "1") == 0)) {
        std::fprintf(stderr, "malloc is not mapalloc's: run with LD_PRELOAD=libmapalloc.so\n");
        return 1;
    }
    const int threads = 4;
    std::vector<std::map<long, std::string> *> results(threads);
    std::vector<std::thread> ts;
    for (int round = 0; round < 3; round++) {
        ts.clear();
        for (int t = 0; t < threads; t++) ts.emplace_back([&results, t, round] { results[t] = work(round * 10 + t); });
        for (auto &t : ts) t.join();
        // Each map is checked and destroyed by a thread other than its builder.
        ts.clear();
        for (int t = 0; t < threads; t++)
            ts.emplace_back([&results, t] {
                auto *mp = results[(t + 1) % threads];
                for (const auto &kv : *mp)
                    if (kv.second != value_of(kv.first)) fail("map value in another thread", kv.first);
                delete mp;
            });
        for (auto &t : ts) t.join();
    }
    std::printf("c++: %d rounds of %d threads, %d failures\n", 3, threads, failures);
    return failures ? 1 : 0;
}
