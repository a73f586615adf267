"""What pydicom (Debian's /usr/bin/python3, an independent reader) sees in DICOM files, as JSON on stdout.

usage:
  pydicom-view.py attributes FILE...            {SOPInstanceUID: {keyword: value}} for a few attributes
  pydicom-view.py render FILE CENTER WIDTH      frame 1 through the modality LUT and a linear window
                                                (PS3.3 C.11.2.1.2), as 8-bit grey: {width, height, pixels}
  pydicom-view.py pixels FILE...                [{transferSyntax, photometric, shape, pixels}] per file: pydicom's
                                                decoded pixel array, flattened (only for small images)
"""
import json
import sys

import numpy
import pydicom

KEYWORDS = ["PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "Modality", "Rows", "Columns", "BitsAllocated", "NumberOfFrames", "InstanceNumber"]


def plain(value):
    if isinstance(value, pydicom.valuerep.PersonName):
        return str(value)
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


def attributes(files):
    out = {}
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        out[str(ds.SOPInstanceUID)] = {k: plain(ds.get(k)) for k in KEYWORDS if k in ds}
    return out


def render(path, center, width):
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array.astype(numpy.float64)
    if getattr(ds, "NumberOfFrames", 1) and int(getattr(ds, "NumberOfFrames", 1)) > 1:
        pixels = pixels[0]
    pixels = pixels * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    low = center - 0.5 - (width - 1) / 2
    high = center - 0.5 + (width - 1) / 2
    grey = numpy.where(pixels <= low, 0, numpy.where(pixels > high, 255, ((pixels - (center - 0.5)) / (width - 1) + 0.5) * 255))
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        grey = 255 - grey
    return {"width": int(grey.shape[1]), "height": int(grey.shape[0]), "pixels": [int(round(v)) for v in grey.flatten()]}


def pixels(files):
    out = []
    for path in files:
        ds = pydicom.dcmread(path)
        array = ds.pixel_array
        out.append({"transferSyntax": str(ds.file_meta.TransferSyntaxUID), "photometric": str(ds.PhotometricInterpretation), "shape": list(array.shape), "pixels": [int(v) for v in array.flatten()]})
    return out


def main():
    if sys.argv[1] == "attributes":
        json.dump(attributes(sys.argv[2:]), sys.stdout)
    elif sys.argv[1] == "pixels":
        json.dump(pixels(sys.argv[2:]), sys.stdout)
    else:
        json.dump(render(sys.argv[2], float(sys.argv[3]), float(sys.argv[4])), sys.stdout)


if __name__ == "__main__":
    main()
