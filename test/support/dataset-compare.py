"""Compares, with pydicom (Debian's /usr/bin/python3, an independent reader), a stored DICOM file with the
same instance served in another transfer syntax, and prints as JSON a list of differences per case, in
order: the served file's transfer syntax ("transfer syntax: UID") and nothing more when every data
element is the same.

usage: dataset-compare.py JSON
  JSON: [{"stored": FILE, "served": FILE, "reference": FILE?, "tolerance": N?, "changed": {KEYWORD: VALUE}?}]
  - elements: the same tags at every level (group lengths aside, which a writer may drop), the same
    VR (where the stored one is not ambiguous) and the same value as pydicom decodes it: text in its
    character set, numbers, person names by their groups; text VRs also by their bytes (padding
    aside); a UN compares by its bytes, an element pydicom reads as a sequence by its items;
  - pixels: the served pixel_array equals the stored one's, or the reference file's when pydicom
    cannot decode the stored one (JPEG-LS, JPEG 2000 without their plug-ins), within `tolerance`,
    after pydicom's colour conversion where the served Photometric Interpretation differs;
  - `changed`: attributes the decoding is allowed to change (e.g. PhotometricInterpretation of a
    JPEG), and the value they must have in the served file.
"""
import json
import sys
import warnings

import numpy
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.pixel_data_handlers.util import convert_color_space

AMBIGUOUS = {"US or SS", "OB or OW", "US or OW", "US or SS or OW"}
# Their bytes are the value: a writer that rewrites them (DS "0.8000" as "0.8") changes the dataset.
TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
PIXEL_DATA = 0x7FE00010


def raw_bytes(element):
    return element.value if isinstance(element, RawDataElement) else None


def value_of(element):
    if element.VR == "PN":
        return [str(name) for name in element.value] if element.VM > 1 else str(element.value)
    return element.value


def compare(stored, served, path, changed, diffs):
    tags = {tag for tag in stored.keys() if tag.element != 0}
    served_tags = {tag for tag in served.keys() if tag.element != 0}
    if tags != served_tags:
        diffs.append(f"{path}: only stored {sorted(str(t) for t in tags - served_tags)}, only served {sorted(str(t) for t in served_tags - tags)}")
    for tag in sorted(tags & served_tags):
        if tag == PIXEL_DATA and "Rows" in stored:
            continue  # compared as pixels
        where = f"{path}{tag}"
        raw_a, raw_b = raw_bytes(stored.get_item(tag)), raw_bytes(served.get_item(tag))
        a, b = stored[tag], served[tag]
        if a.keyword in changed:
            if str(value_of(b)) != str(changed[a.keyword]):
                diffs.append(f"{where} {a.keyword}: served {value_of(b)!r}, expected {changed[a.keyword]!r}")
            continue
        if a.VR == "SQ" or b.VR == "SQ":
            if a.VR != b.VR or len(a.value) != len(b.value):
                diffs.append(f"{where}: sequence {a.VR}/{len(a.value or [])} served as {b.VR}/{len(b.value or [])}")
                continue
            for index, (item_a, item_b) in enumerate(zip(a.value, b.value)):
                compare(item_a, item_b, f"{where}[{index}].", changed, diffs)
            continue
        if "UN" in (a.VR, b.VR) and raw_a is not None and raw_b is not None:
            if raw_a != raw_b:
                diffs.append(f"{where}: UN bytes differ")
            continue
        if a.VR != b.VR and a.VR not in AMBIGUOUS:
            diffs.append(f"{where} {a.keyword}: VR {a.VR} served as {b.VR}")
        if a.VR in TEXT_VRS and raw_a is not None and raw_b is not None and raw_a.rstrip(b"\0 ") != raw_b.rstrip(b"\0 "):
            diffs.append(f"{where} {a.keyword}: bytes {raw_a!r} served as {raw_b!r}")
        elif value_of(a) != value_of(b):
            diffs.append(f"{where} {a.keyword}: {value_of(a)!r} served as {value_of(b)!r}")


def pixels(case, stored, served, diffs):
    if PIXEL_DATA not in stored or "Rows" not in stored:
        return
    source = pydicom.dcmread(case["reference"]) if case.get("reference") else stored
    expected = source.pixel_array
    if source.PhotometricInterpretation != served.PhotometricInterpretation:
        # pydicom gives a JPEG's YBR as decoded; the served file says RGB: its own conversion compares them.
        expected = convert_color_space(expected, source.PhotometricInterpretation, served.PhotometricInterpretation)
    expected, actual = expected.astype(numpy.float64), served.pixel_array.astype(numpy.float64)
    if expected.shape != actual.shape:
        diffs.append(f"pixels: shape {expected.shape} served as {actual.shape}")
    elif numpy.abs(expected - actual).max(initial=0) > case.get("tolerance", 0):
        diffs.append(f"pixels: differ by up to {numpy.abs(expected - actual).max()}")


def main() -> None:
    warnings.simplefilter("ignore")
    out = []
    for case in json.loads(sys.argv[1]):
        stored, served = pydicom.dcmread(case["stored"]), pydicom.dcmread(case["served"])
        diffs = [f"transfer syntax: {served.file_meta.TransferSyntaxUID}"]
        compare(stored, served, "", case.get("changed", {}), diffs)
        pixels(case, stored, served, diffs)
        out.append(diffs)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
