"""Where anonymised results go after OUTPUT: a JPEG catalogue database and a PACS.

- catalog.py      JPEG catalogue (SQLAlchemy Core; SQLite file or any URL): add_rows, build_catalog, Catalog, export
- records.py      CatalogRecord: one row per JPEG frame, from pipeline dicts or a de-identified dataset
- pacs.py         push OUTPUT/dicom to a PACS with read-back verification and resume: push, push_output
- destination.py  PACS URL (http(s):// -> STOW-RS, dicom://AET@host:port -> C-STORE) and credentials
- dicomweb.py     STOW-RS send, QIDO-RS read-back
- cstore.py       C-STORE send, C-FIND read-back (pynetdicom)
- ledger.py       per-instance push state (pending/sent/verified/failed) beside OUTPUT
- retry.py        back-off policy and the PacsError family
- tree.py         walk the OUTPUT layout
"""
