/*
 * QR codes, drawn by libqrencode (the only includer of qrencode.h) as an
 * inline SVG: the pages' Content-Security-Policy loads no image from
 * anywhere, and an <svg> in the page needs none.
 */
#ifndef AUTHGW_QR_H
#define AUTHGW_QR_H

struct buf;

/*
 * Append to out an <svg> of the QR code of text (error correction level
 * M, a 4-module quiet zone): one <path> of a unit square per dark module,
 * "M{x} {y}h1v1h-1z", in a viewBox of module units. Returns 0 or -1.
 */
int	qr_svg(const char *text, struct buf *out);

#endif
