# Convenience front end for CMake. `make test` is the README's (and CI's) test command.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(MAPALLOC_WERROR),ON)
CMAKE_FLAGS += -DMAPALLOC_WERROR=ON
endif

.PHONY: all build test bench bench-quick install clean tour

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	python3 bench/run.py --build $(BUILD)

bench-quick: build
	python3 bench/run.py --build $(BUILD) --quick

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
