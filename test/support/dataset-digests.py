"""Prints, as JSON, {SOPInstanceUID: [digest of the dataset, one per file]} for every DICOM Part 10 file
below DIR, read by an independent reader (pydicom, Debian's /usr/bin/python3): what the node really
keeps on disk. The digest is of the dataset's elements re-encoded one way (explicit VR little
endian), without group lengths and trailing padding (FFFC,FFFC), which a sender such as storescu
may drop or recompute on the wire: two files digest alike when they hold the same data elements.

usage: dataset-digests.py DIR
"""
import hashlib
import json
import os
import sys

import pydicom
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset


def digest(dataset: pydicom.Dataset) -> str:
    for element in list(dataset):
        if element.tag.element == 0 or element.tag == 0xFFFCFFFC:
            del dataset[element.tag]
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, dataset)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def main() -> None:
    digests = {}
    for root, _dirs, files in os.walk(sys.argv[1]):
        if os.path.basename(root).startswith("."):
            continue
        for name in files:
            path = os.path.join(root, name)
            try:
                dataset = pydicom.dcmread(path)
                sop = str(dataset.SOPInstanceUID)
            except Exception:  # a file that is not DICOM (an index, a marker) is not an instance
                continue
            digests.setdefault(sop, []).append(digest(dataset))
    json.dump(digests, sys.stdout)


if __name__ == "__main__":
    main()
