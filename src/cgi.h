/* Plain CGI: one request from the environment and stdin, answer on stdout. */
#ifndef AUTHGW_CGI_H
#define AUTHGW_CGI_H

struct app;

/* Answer the one request. Returns 0, or 1 if the answer could not be sent. */
int	cgi_serve(struct app *);

#endif
