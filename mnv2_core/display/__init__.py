"""What the pages show, shaped in one place: table columns and rows, chart points and the sentences that read
them, from the library's typed values. Pages only render what these give."""
