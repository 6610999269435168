#!/bin/bash
# Issue 14's cases through the real CLI, for a before/after comparison:
#   bench/reliability_cases.sh CODE_ROOT WORKDIR [PYTHON]
# CODE_ROOT is a checkout (put first on PYTHONPATH); WORKDIR is emptied and used.
# With --big it also runs issue 14.2: a 2-frame TIFF with a 3720x5262 second frame
# and four scans, batch -j 2 at --max-memory 2048 and 1500 (real OCR: minutes).
set -u
R=$(cd "$1" && pwd); W=$2; PY=${3:-python3}; BIG=${4:-}
HERE=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$W"; mkdir -p "$W"; cd "$W"
S="env PYTHONPATH=$R $PY -m pipelines.cli"
D=$HERE/samples/digital
WAIT=""; $S batch --help 2>/dev/null | grep -q -- "--wait" && WAIT="--wait 300"
cp $D/sh2020-union-gumei.pdf decl.pdf
py() { $PY "$@"; }
# 1. two batches, same names, other content, at once
mkdir A B; for i in 0 1 2 3 4; do cp decl.pdf A/f$i.pdf; echo "%A$i" >> A/f$i.pdf; cp decl.pdf B/f$i.pdf; echo "%B$i" >> B/f$i.pdf; done
$S batch A -o O -j 1 $WAIT > a.log 2>&1 & $S batch B -o O -j 1 $WAIT > b.log 2>&1; wait
echo "1. two batches: $(ls O/*.json | wc -l) record files for 10 documents; distinct sha256 in records: $(py -c "import json,glob; print(len({json.load(open(p))['source']['sha256'] for p in glob.glob('O/*.json')}))")"
# 3a. a.pdf = b.pdf, then a.jpg
mkdir C; cp decl.pdf C/a.pdf; cp decl.pdf C/b.pdf; $S batch C -o OC -j 1 >/dev/null 2>&1
py -c "from PIL import Image; Image.open('$HERE/samples/scanned/sh-jingan-2019-sports-events.tif').convert('L').save('C/a.jpg')"
$S batch C -o OC -j 1 >/dev/null 2>&1
echo "3a. a.json now from: $(py -c "import json; print(json.load(open('OC/a.json'))['source']['file'])")"
# 3b. extract A/x.pdf then B/x.pdf
mkdir X Y; cp decl.pdf X/x.pdf; cp decl.pdf Y/x.pdf; echo "%y" >> Y/x.pdf
$S extract X/x.pdf -o E >/dev/null 2>&1; $S extract Y/x.pdf -o E >/dev/null 2>&1
echo "3b. extract twice: $(ls E/*.json | xargs -n1 basename | tr '\n' ' ')"
# 4. non-UTF-8 name
mkdir N; cp decl.pdf "N/$(printf 'bad\xff\xfe.pdf')"; cp decl.pdf N/z.pdf
$S batch N -o ON -j 1 > n.log 2>&1; echo "4. non-UTF-8: exit $?, traceback: $(grep -c Traceback n.log), records: $(ls ON/*.json 2>/dev/null | wc -l)"
# 5. manifest symlink
mkdir M OM; cp decl.pdf M/a.pdf; printf 'one\ntwo' > victim.txt; ln -s $W/victim.txt OM/manifest.jsonl
$S batch M -o OM -j 1 >/dev/null 2>&1; echo "5. victim now: $(py -c "print(repr(open('victim.txt').read()[:60]))")"
# 6. tracebacks
mkdir T G; head -c 3000 OC/a.json > T/a.json; cp OC/a.json G/a.json
$S compare T G > t.log 2>&1; echo "6a. compare truncated: exit $?, traceback: $(grep -c Traceback t.log)"
touch afile; $S export OC --to afile/x.duckdb > t2.log 2>&1; echo "6b. export under a file: exit $?, traceback: $(grep -c Traceback t2.log)"
mkdir OJ; echo '[1,2]' > OJ/manifest.jsonl; $S batch M -o OJ -j 1 > t3.log 2>&1; echo "6c. manifest line [1,2]: exit $?, traceback: $(grep -c Traceback t3.log)"
# 7. options and codes
$S batch M -o O7 --timeout 0 > t4.log 2>&1; echo "7a. --timeout 0: exit $? $(grep -o 'E_[A-Z_]*' t4.log | head -1)"
$S batch M -o O8 --ray auto > t5.log 2>&1; echo "7b. --ray auto: exit $? $(grep -o 'E_[A-Z_]*' t5.log | head -1), mentions --address: $(grep -c -- '--address' t5.log)"
py -c "
import pypdfium2 as p; d=p.PdfDocument.new(); d.new_page(14400,14400); d.save('poster.pdf')"
$S extract poster.pdf -o O9 > t6.log 2>&1; echo "7c. huge MediaBox: $(grep -o 'E_[A-Z_]*' t6.log | head -1)"
cp $HERE/samples/scanned/sh2020-union-gumei.pdf scan.pdf
$S batch --help >/dev/null; mkdir S; cp scan.pdf S/; $S batch S -o O10 -j 1 --max-memory 300 > t7.log 2>&1; echo "7d. --max-memory 300 on a scan: $(grep -o 'E_[A-Z_]*' t7.log | head -1)"

if [ "$BIG" = "--big" ]; then
  mkdir -p big
  py - <<PYEOF
import pypdfium2 as pdfium
doc = pdfium.PdfDocument("$HERE/samples/digital/sh2020-union-gumei.pdf")
p1 = doc[0].render(scale=200/72).to_pil().convert("L")
w, h = doc[1].get_size()
p2 = doc[1].render(scale=3720/w).to_pil().convert("L").resize((3720, 5262))
p1.save("big/two.tif", save_all=True, append_images=[p2], compression="tiff_deflate", dpi=(200, 200))
PYEOF
  for i in 1 2 3 4; do cp $HERE/samples/scanned/sh2020-union-gumei.pdf big/s$i.pdf; echo "%$i" >> big/s$i.pdf; done
  for mm in 2048 1500; do
    $S batch big -o OB$mm -j 2 --max-memory $mm > big$mm.log 2>&1
    echo "2. --max-memory $mm: $(py -c "
import json
e = [json.loads(l) for l in open('OB$mm/manifest.jsonl') if 'two.tif' in l][-1]
r = json.load(open('OB$mm/' + e['records'][0])) if e['records'] else {}
print('two.tif', e['status'], 'page_kinds', (r.get('source') or {}).get('page_kinds'), 'indicators', len(r.get('indicators') or []))")"
  done
fi
