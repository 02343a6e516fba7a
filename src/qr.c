#include <qrencode.h>

#include "qr.h"
#include "util.h"

#define QR_QUIET	4	/* modules of margin (ISO/IEC 18004) */
#define QR_PIXELS	5	/* screen pixels per module */

int
qr_svg(const char *text, struct buf *out)
{
	QRcode		*q;
	int		 x, y, side, rc = -1;

	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
	    NULL)
		return -1;
	side = q->width + 2 * QR_QUIET;
	if (buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "class=\"qr\" role=\"img\" aria-label=\"QR code\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" "
	    "d=\"", side * QR_PIXELS, side * QR_PIXELS, side, side, side,
	    side) == -1)
		goto out;
	for (y = 0; y < q->width; y++)
		for (x = 0; x < q->width; x++)
			if ((q->data[y * q->width + x] & 1) &&
			    buf_printf(out, "M%d %dh1v1h-1z", x + QR_QUIET,
			    y + QR_QUIET) == -1)
				goto out;
	if (buf_puts(out, "\"/></svg>") == -1)
		goto out;
	rc = 0;
out:
	QRcode_free(q);
	return rc;
}
