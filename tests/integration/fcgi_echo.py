"""A stand-in for PHP-FPM: a FastCGI responder on a unix socket that answers
every request 200 with the parameters an application would act on, one
NAME=value line each (ECHOED; a parameter sent twice counts by its last
value, as PHP-FPM does). Python 3 standard library only, no harness: the
integration tests and scripts/deb-test.sh both run it.

    python3 fcgi_echo.py SOCKET_PATH [MODE]    (MODE octal, default 0666)
"""

import os
import socketserver
import struct
import sys

ECHOED = ('REMOTE_USER', 'SCRIPT_NAME', 'SCRIPT_FILENAME', 'REQUEST_URI')
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def read_exact(f, n):
    data = f.read(n)
    if data is None or len(data) != n:
        raise EOFError
    return data


def read_record(f):
    _, rtype, req_id, clen, plen, _ = struct.unpack(
        '!BBHHBB', read_exact(f, 8))
    content = read_exact(f, clen)
    read_exact(f, plen)
    return rtype, req_id, content


def name_value_len(data, i):
    if data[i] & 0x80:
        return struct.unpack('!I', data[i:i + 4])[0] & 0x7fffffff, i + 4
    return data[i], i + 1


def parse_params(data):
    out, i = {}, 0
    while i < len(data):
        nlen, i = name_value_len(data, i)
        vlen, i = name_value_len(data, i)
        name = data[i:i + nlen].decode('latin-1')
        out[name] = data[i + nlen:i + nlen + vlen].decode('latin-1')
        i += nlen + vlen
    return out


def record(rtype, req_id, content):
    return struct.pack('!BBHHBB', 1, rtype, req_id, len(content), 0,
                       0) + content


class Handler(socketserver.StreamRequestHandler):

    def handle(self):
        params, req_id = b'', 1
        try:
            while True:
                rtype, req_id, content = read_record(self.rfile)
                if rtype == PARAMS:
                    params += content
                elif rtype == STDIN and not content:
                    break
        except EOFError:
            return
        p = parse_params(params)
        body = ''.join('%s=%s\n' % (k, p.get(k, '')) for k in ECHOED)
        out = ('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n'
               + body).encode('latin-1')
        self.wfile.write(record(STDOUT, req_id, out) +
                         record(STDOUT, req_id, b'') +
                         record(END_REQUEST, req_id,
                                struct.pack('!IB3x', 0, 0)))


def main():
    path = sys.argv[1]
    mode = int(sys.argv[2], 8) if len(sys.argv) > 2 else 0o666
    if os.path.exists(path):
        os.unlink(path)
    server = socketserver.ThreadingUnixStreamServer(path, Handler)
    os.chmod(path, mode)
    server.serve_forever()


if __name__ == '__main__':
    main()
