"""Writes STUDIES studies of PER_STUDY instances each (one series per study, one patient per study)
from the header and pixels of a real CT file that Debian's pydicom ships, each instance with fresh
UIDs, and prints a JSON manifest on stdout. Run with /usr/bin/python3.

usage: generate-instances.py OUT_DIR STUDIES PER_STUDY
"""
import json
import os
import sys
import uuid

import pydicom

SOURCE = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"


def new_uid() -> str:
    return "2.25.%d" % uuid.uuid4().int


def main() -> None:
    out_dir, studies, per_study = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    template = pydicom.dcmread(SOURCE)
    manifest = []
    for s in range(studies):
        study_uid, series_uid = new_uid(), new_uid()
        patient_id = "FAULT-%s" % study_uid[-10:]
        study_dir = os.path.join(out_dir, "study-%02d" % s)
        os.makedirs(study_dir, exist_ok=True)
        files = []
        for i in range(per_study):
            sop_uid = new_uid()
            template.StudyInstanceUID = study_uid
            template.SeriesInstanceUID = series_uid
            template.SOPInstanceUID = sop_uid
            template.file_meta.MediaStorageSOPInstanceUID = sop_uid
            template.PatientID = patient_id
            template.InstanceNumber = i + 1
            path = os.path.join(study_dir, "%04d.dcm" % i)
            template.save_as(path, write_like_original=True)
            files.append({"path": path, "sopInstanceUid": sop_uid})
        manifest.append({"studyInstanceUid": study_uid, "seriesInstanceUid": series_uid, "patientId": patient_id, "files": files})
    json.dump(manifest, sys.stdout)


if __name__ == "__main__":
    main()
