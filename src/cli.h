/* The admin command line of SPEC section 7. */
#ifndef AUTHGW_CLI_H
#define AUTHGW_CLI_H

struct config;

/* Run argv (the words after the options). Returns the exit status. */
int	cli_run(struct config *, int argc, char **argv);

#define EXIT_USAGE	64
#define EXIT_CONFIG	78

#endif
