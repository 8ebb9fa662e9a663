# Distill Studio: the two commands a fresh machine needs.
#   make demo   installs what it needs, then runs the main job on the built-in example
#   make test   installs what it needs, then runs typecheck, lint and every test
SHELL := /bin/bash
NODE_MODULES_STAMP := node_modules/.install-stamp
CLI := node bin/distill-studio.js

.PHONY: demo test install bundle chromium datasets wasm-toolchain simd-kernels app example-teacher fashion-teacher bench clean

# onnxruntime-node ships its CPU binaries in the npm package; on Linux x64 its install script would
# also download the CUDA provider from NuGet, which this app neither needs nor can reach offline.
# ONNXRUNTIME_NODE_INSTALL=skip (its documented switch) skips that download.
$(NODE_MODULES_STAMP): package.json package-lock.json
	ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
	@touch $@

# The bundles electron-vite builds into out/ (the app's processes and the command line):
# bin/distill-studio.js runs the built command line while it matches the sources (it checks a
# fingerprint of them), and a process of it then needs about 60 MB less memory than one that
# compiles the TypeScript through tsx. Rebuilt when a source is newer than the bundle.
BUNDLE_STAMP := out/main/sources.sha256
$(BUNDLE_STAMP): $(NODE_MODULES_STAMP) electron.vite.config.ts bin/source-stamp.js $(shell find src -type f)
	npm run build --silent >/dev/null

bundle: $(BUNDLE_STAMP)

install: $(NODE_MODULES_STAMP) $(BUNDLE_STAMP)

# The main job: distill the built-in MNIST teacher into lenet5-half without data, in rounds for a
# 5-minute budget, printing the student's accuracy on the held-out real digits after every round;
# writes runs/demo/report.html. Run again on the same folder, it resumes (or redoes nothing).
demo: install
	$(CLI) distill --teacher builtin:mnist-lenet5 --student lenet5-half --method soft-target \
		--budget 5m --test-data mnist-digits --run runs/demo

# Debian packages the tests use: Chromium drives the end-to-end tests (Playwright) and PDF
# export in browser mode; dataset-fashion-mnist is the real Fashion-MNIST split some data
# tests read (they are skipped, with the reason printed, where it cannot be installed).
CHROMIUM ?= /usr/bin/chromium
FASHION_MNIST ?= /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
SUDO := $$( [ "$$(id -u)" = 0 ] || echo sudo )
APT_INSTALL = $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq
chromium:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the end-to-end tests"; \
		$(APT_INSTALL) chromium >/dev/null; }

datasets:
	@test -f $(FASHION_MNIST) || { echo "Installing Debian's dataset-fashion-mnist for the data tests"; \
		{ $(APT_INSTALL) dataset-fashion-mnist >/dev/null; } || \
		echo "Could not install dataset-fashion-mnist: the tests that read it will be skipped"; }

# clang and lld compile src/engine/backend/simd/kernels.c to WebAssembly: the module is committed
# (the app never needs a compiler), and a test rebuilds it to check it matches its source.
wasm-toolchain:
	@command -v clang >/dev/null && command -v wasm-ld >/dev/null || { \
		echo "Installing Debian's clang and lld to check the committed SIMD kernels against kernels.c"; \
		{ $(APT_INSTALL) clang lld >/dev/null; } || \
		echo "Could not install clang and lld: the rebuild check will be skipped"; }

# Rebuilds the committed SIMD kernels after an edit of kernels.c.
simd-kernels: wasm-toolchain
	node scripts/build-simd-kernels.mjs

test: install chromium datasets wasm-toolchain
	npm test

# The app in browser mode (no Electron binary needed): prints the address to open.
app: install
	npm run serve

# Rebuilds the shipped example teacher (fixed seed; see README).
example-teacher: install
	$(CLI) train-teacher --data mnist-digits --arch lenet5 --epochs 30 --seed 1 --out examples/mnist-lenet5 --overwrite

# A Fashion-MNIST LeNet-5 teacher (needs: apt-get install dataset-fashion-mnist).
fashion-teacher: install
	$(CLI) train-teacher --data fashion-mnist --arch lenet5 --augment shift-flip --epochs 30 --seed 1 --out runs/fashion-lenet5 --overwrite

# Benchmarks (slow; results in bench/results/*.json). Fashion-MNIST needs its teacher: make fashion-teacher.
bench: install
	node --import tsx bench/backend-speed.ts
	node --import tsx bench/parallel-speedup.ts
	node --import tsx bench/vs-pytorch.ts
	node --import tsx bench/paper-table.ts --datasets mnist,fashion --samples 4000 --iterations 150 --epochs 40 \
		--real-epochs mnist:20,fashion:5
	node --import tsx bench/paper-table.ts --datasets mnist,fashion --samples 4000 --iterations 150 --epochs 40 \
		--skip-real --settings recommended --augment off --extra-budget fashion:12000x200 --tag recommended
	rm -rf runs/bench/mnist-e120 runs/bench/fashion-e120
	node --import tsx bench/more-epochs.ts --run runs/bench/mnist-soft-target-4000x150x40-recommended --epochs 120 --out runs/bench/mnist-e120
	node --import tsx bench/more-epochs.ts --run runs/bench/fashion-soft-target-12000x200x40-recommended --epochs 120 --out runs/bench/fashion-e120
	bash bench/trials.sh all
	bash bench/budget-queue.sh bench/budget-queue.txt
	PARALLEL=1 bash bench/budget-queue.sh bench/budget-queue-whole.txt

clean:
	rm -rf out runs .tmp
