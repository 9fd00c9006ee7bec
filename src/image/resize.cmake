# resize + preprocess: sources, tests, benchmarks (bit-exact Pillow resize)
