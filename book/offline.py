"""Sphinx extension for the static book (book/_config.yml): pages that ask no other host for anything.

- A remote image (the README's Binder badge) becomes its alt text, still inside its link.
- A saved widget (``interact`` sliders, the progress bar) cannot work without a kernel, and the
  book loads no widget JavaScript: its place gets a one-line note instead. The notebooks draw a
  static plot right after each interactive one.
"""

from docutils import nodes

WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'
WIDGET_NOTE = ("Interactive widget: it needs a running notebook (launch this page on Binder, or "
               "open it in JupyterLab). A slider's plot is also drawn statically below.")


def is_remote(uri):
    return uri.startswith(("http://", "https://", "//"))


def replace_offline(app, doctree, docname):
    for image in list(doctree.findall(nodes.image)):
        if is_remote(image.get("uri", "")):
            image.replace_self(nodes.Text(image.get("alt") or "image"))
    for raw in list(doctree.findall(nodes.raw)):
        if raw.astext().lstrip().startswith(WIDGET_VIEW):
            note = nodes.paragraph(classes=["widget-offline-note"])
            note += nodes.emphasis(text=WIDGET_NOTE)
            raw.replace_self(note)


def setup(app):
    app.connect("doctree-resolved", replace_offline)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
