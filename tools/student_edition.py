# nbconvert configuration for the student edition: `make student` runs
#     jupyter nbconvert --config tools/student_edition.py --output-dir student notebooks/[0-9]*.ipynb
# Only nbconvert's own preprocessors, no hand-written JSON edits:
c = get_config()  # noqa: F821 - provided by nbconvert when it loads this file

c.NbConvertApp.export_format = "notebook"

# 1. Drop every cell tagged `solution` (cell metadata "tags": ["solution"]).
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = {"solution"}

# 2. Clear every output and execution count, and the per-cell timing metadata.
c.ClearOutputPreprocessor.enabled = True
c.ClearOutputPreprocessor.remove_metadata_fields = {"collapsed", "scrolled", "execution"}

# 3. Drop saved widget state and other notebook metadata; keep the kernel and the cell tags.
c.ClearMetadataPreprocessor.enabled = True
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {"kernelspec", "language_info"}
c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = {"tags"}
