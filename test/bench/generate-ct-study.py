"""Writes a synthetic CT study of N slices (512x512, 16-bit, explicit VR little endian), one series,
from the header of a real CT file that Debian's pydicom ships. Run with /usr/bin/python3.

usage: generate-ct-study.py OUT_DIR N STUDY_UID [small]

With "small", the copies keep CT_small's own 128x128 pixels (39 KB each) instead of 512x512.
"""
import copy
import os
import sys
import uuid

import pydicom
from pydicom.uid import ExplicitVRLittleEndian

SOURCE = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"


def new_uid() -> str:
    return "2.25.%d" % uuid.uuid4().int


def main() -> None:
    out_dir, count, study_uid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    small = len(sys.argv) > 4 and sys.argv[4] == "small"
    os.makedirs(out_dir, exist_ok=True)
    template = pydicom.dcmread(SOURCE)
    template.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    template.StudyInstanceUID = study_uid
    template.SeriesInstanceUID = new_uid()
    template.PatientID = "BENCH-" + study_uid[-8:]
    row = bytes(range(256)) * 4
    if not small:
        template.Rows, template.Columns = 512, 512
        template.BitsAllocated, template.BitsStored, template.HighBit = 16, 16, 15
        template.PixelRepresentation = 1
    for number in range(1, count + 1):
        ds = copy.deepcopy(template)
        sop_uid = new_uid()
        ds.SOPInstanceUID = sop_uid
        ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.InstanceNumber = number
        if not small:
            # Real CT slices differ from one another; a varying ramp keeps them from being identical.
            ds.SliceLocation = float(number)
            shift = number % 256
            ds.PixelData = (row[shift:] + row[:shift]) * 512
        ds.save_as(os.path.join(out_dir, "ct-%05d.dcm" % number), write_like_original=False)

if __name__ == "__main__":
    main()
