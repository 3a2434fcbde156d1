"""CSV import and export of sources, policy areas, commitments and targets.

`format` is the file (columns, records, cells); an import is `parse`d, `check`ed against what is
stored, then `apply`d through the rule modules; `export` writes the same format.
"""

from __future__ import annotations

from commitments.transfer.apply import import_csv
from commitments.transfer.export import export_csv
from commitments.transfer.format import COLUMNS, IMPORT_DOC

__all__ = ["COLUMNS", "IMPORT_DOC", "export_csv", "import_csv"]
