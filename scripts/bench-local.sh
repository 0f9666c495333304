#!/usr/bin/env bash
# Measures dl-driver against the machine's own limits on the same disk, in one run:
#   generation  = generation (+ sync)          ÷ dd sequential write with fdatasync, same bytes
#   training    = read throughput, compute 0   ÷ fio sequential read of the same files
#   direct read = the same through direct://   ÷ fio --direct=1 read of the same files
# dd writes with as many streams as dl-driver's generation writers and fio --direct reads with
# as many jobs as its read_threads; the buffered fio read is one stream (several jobs over the
# same files would share the page cache), so that ratio also shows what concurrency buys.
# Quickstart-shaped samples (1 MiB); BENCH_FILES (default 512) sets the dataset size,
# BENCH_FORMAT (default npz; hdf5, tfrecord, … work too) the format, and BENCH_DIR (default
# target/bench) where it lives. Caches are dropped before every read
# when /proc/sys/vm/drop_caches is writable (root); otherwise reads are warm and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${BENCH_FILES:-512}
format=${BENCH_FORMAT:-npz}
framework=pytorch
[ "$format" = tfrecord ] && framework=tensorflow  # TensorFlow's record stream
dir=$(realpath -m "${BENCH_DIR:-target/bench}")
threads=${BENCH_READ_THREADS:-4}
writers=$(( $(nproc) > 2 ? $(nproc) : 2 ))  # dl-driver's generation threads
# Only ever delete a directory this script made (it leaves a marker), never a user's data.
if [ -e "$dir" ] && [ ! -e "$dir/.dl-driver-bench" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    echo "$dir exists and was not made by this script; choose another BENCH_DIR" >&2
    exit 1
fi
rm -rf "$dir" && mkdir -p "$dir" && touch "$dir/.dl-driver-bench"
command -v fio > /dev/null || { apt-get update -qq && apt-get install -y -qq fio > /dev/null; } \
    || { echo "fio is needed for the read limits: apt-get install fio" >&2; exit 1; }
cargo build --release --quiet
[ "$format" = hdf5 ] && cargo build --release --quiet -p dl-plugin-hdf5
bin=$PWD/target/release/dl-driver

drop_caches() {
    sync
    if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; return 0; fi
    return 1
}
now() { date +%s.%N; }
since() { python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$1" "$(now)"; }
workload() { # $1 = data folder, $2 = generate_data, $3 = train
    cat <<YAML
model: {name: bench}
framework: $framework
workflow: {generate_data: $2, train: $3}
dataset: {data_folder: "$1", format: $format, num_files_train: $files, num_samples_per_file: 1, record_length_bytes: 1048576}
reader: {data_loader: $framework, batch_size: 4, read_threads: $threads, prefetch_size: 8}
train: {epochs: 1, computation_time: 0}
output: {folder: "$dir/out"}
YAML
}

workload "$dir/data" True False > "$dir/gen.yaml"
start=$(now); "$bin" generate "$dir/gen.yaml" > /dev/null; sync; gen_s=$(since "$start")
bytes=$(find "$dir/data/train" -name "*.$format" -printf '%s\n' | awk '{s+=$1} END {print s}')
mib=$(( (bytes + 1048575) / 1048576 ))

per_writer=$(( (mib + writers - 1) / writers ))
start=$(now)
for i in $(seq "$writers"); do
    dd if=/dev/zero of="$dir/dd.$i" bs=1M count="$per_writer" conv=fdatasync status=none &
done
wait; dd_w_s=$(since "$start")
rm -f "$dir"/dd.*

cold=cold; drop_caches || cold=warm
fio_read() { # $1 = 0 or 1 for direct, $2 = jobs; prints the aggregate bytes/s
    fio --name=limit --opendir="$dir/data/train" --rw=read --bs=1M --direct="$1" --numjobs="$2" \
        --group_reporting --output-format=json 2> /dev/null |
        python3 -c 'import json,sys; t=sys.stdin.read(); print(json.loads(t[t.index("{"):])["jobs"][0]["read"]["bw_bytes"])'
}
# One job: concurrent buffered jobs over the same files would share the page cache.
fio_bps=$(fio_read 0 1)

read_rate() { # bytes/s from the summary's samples/s × mean file size
    python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['metric']['train_throughput_mean_samples_per_second'] * $bytes / $files)" "$dir/out/summary.json"
}
workload "$dir/data" False True > "$dir/read.yaml"
drop_caches || true
"$bin" run "$dir/read.yaml" > /dev/null
read_bps=$(read_rate)

fio_direct_bps=$(fio_read 1 "$threads")
workload "direct://$dir/data" False True > "$dir/direct.yaml"
drop_caches || true
"$bin" run "$dir/direct.yaml" > /dev/null
direct_bps=$(read_rate)

python3 - "$bytes" "$gen_s" "$dd_w_s" "$fio_bps" "$read_bps" "$fio_direct_bps" "$direct_bps" "$cold" "$files" "$writers" "$threads" "$format" <<'PY'
import sys
b, gen, ddw, fio, rd, fiod, drd = (float(x) for x in sys.argv[1:8])
cold, files, writers, readers, fmt = sys.argv[8:13]
mb = 1 << 20
print(f"dataset: {files} {fmt} files, {b/mb:.0f} MiB; reads {cold}; {writers} writers, {readers} readers on both sides")
print(f"generation   {b/gen/mb:8.1f} MiB/s  dd write+fdatasync {b/ddw/mb:8.1f} MiB/s  ratio {b/gen/(b/ddw):.2f}")
print(f"train read   {rd/mb:8.1f} MiB/s  fio read, 1 job    {fio/mb:8.1f} MiB/s  ratio {rd/fio:.2f}")
print(f"direct read  {drd/mb:8.1f} MiB/s  fio --direct=1     {fiod/mb:8.1f} MiB/s  ratio {drd/fiod:.2f}")
PY
