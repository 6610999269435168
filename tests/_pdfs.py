"""PDF pages made for tests."""

from __future__ import annotations


def add_drawn_page(doc, width: float, height: float):
    """A page with a drawn frame and no text layer: what a scan without its
    image looks like to the triage, so it goes to the image path (a page with
    nothing drawn at all is taken as an empty text page)."""
    import pypdfium2.raw as pdfium_c

    page = doc.new_page(width, height)
    rect = pdfium_c.FPDFPageObj_CreateNewRect(width * 0.1, height * 0.1, width * 0.5, height * 0.3)
    pdfium_c.FPDFPath_SetDrawMode(rect, pdfium_c.FPDF_FILLMODE_NONE, True)
    pdfium_c.FPDFPage_InsertObject(page.raw, rect)
    pdfium_c.FPDFPage_GenerateContent(page.raw)
    return page
