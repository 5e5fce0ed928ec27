// sized_delete: C++ sized delete reaches mapalloc's free_sized check
// (override.c). "ok": containers and objects under load, every delete sized
// by the compiler; "wrong": an explicit sized delete with a wrong size, which
// secure mode (and, when larger than the block, default mode) must name.
#include <cstdio>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

struct Obj {
    char payload[40];
    virtual ~Obj() {}
};

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (!std::strcmp(argv[1], "ok")) {
        std::map<std::string, std::vector<int>> m;
        for (int i = 0; i < 20000; i++) {
            m[std::to_string(i)].assign(static_cast<size_t>(i % 50), i);
            Obj *o = new Obj();
            delete o;
            int *a = new int[static_cast<size_t>(i % 100 + 1)];
            delete[] a;
        }
        m.clear();
        std::puts("sized deletes ok");
        return 0;
    }
    if (!std::strcmp(argv[1], "wrong")) {
        void *p = ::operator new(100);
        ::operator delete(p, static_cast<size_t>(90));
        std::puts("not caught");
        return 0;
    }
    return 2;
}
