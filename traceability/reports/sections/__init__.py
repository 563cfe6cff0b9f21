"""The sections of the PDF report; each is a function ``(content, outline) -> [Flowable]``."""
