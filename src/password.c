#include <sys/resource.h>
#include <sys/syscall.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "password.h"
#include "util.h"

#define PREFIX		"$scrypt$"
#define PREFIX_LEN	(sizeof(PREFIX) - 1)

/* Parsed hash string; salt and key point into the caller's buffers. */
struct parsed {
	struct password_params	 params;
	unsigned char		 salt[PASSWORD_SALT_LEN];
	unsigned char		 key[PASSWORD_KEY_LEN];
};

static int
params_valid(const struct password_params *pp)
{
	return pp->log2n >= 1 && pp->log2n <= 24 && pp->r >= 1 &&
	    pp->r <= 64 && pp->p >= 1 && pp->p <= 64;
}

/* Parse one "name=value" with value in [1, 64]. Returns the end or NULL. */
static const char *
parse_param(const char *s, const char *name, char stop, int *out)
{
	size_t		 nlen = strlen(name);
	const char	*end;
	int64_t		 v;

	if (strncmp(s, name, nlen) != 0 || s[nlen] != '=')
		return NULL;
	s += nlen + 1;
	if ((end = strchr(s, stop)) == NULL)
		return NULL;
	if (util_parse_int64(s, (size_t)(end - s), 1, 64, &v) == -1)
		return NULL;
	*out = (int)v;
	return end + 1;
}

static int
hash_parse(const char *hash, struct parsed *out)
{
	const char	*s, *dollar;

	if (strncmp(hash, PREFIX, PREFIX_LEN) != 0)
		return -1;
	s = hash + PREFIX_LEN;
	if ((s = parse_param(s, "ln", ',', &out->params.log2n)) == NULL ||
	    (s = parse_param(s, "r", ',', &out->params.r)) == NULL ||
	    (s = parse_param(s, "p", '$', &out->params.p)) == NULL)
		return -1;
	if (!params_valid(&out->params))
		return -1;
	if ((dollar = strchr(s, '$')) == NULL)
		return -1;
	if (crypto_b64url_decode(s, (size_t)(dollar - s), out->salt,
	    sizeof(out->salt)) != PASSWORD_SALT_LEN)
		return -1;
	s = dollar + 1;
	if (crypto_b64url_decode(s, strlen(s), out->key, sizeof(out->key)) !=
	    PASSWORD_KEY_LEN)
		return -1;
	return 0;
}

/*
 * The niceness the hashing runs at (issue 11): scrypt is tens of CPU
 * milliseconds, a check tens of microseconds. In a worker at the checks'
 * priority, a hash takes its scheduling group's whole share of a CPU (the
 * workers are one group: an autogroup, or the service's cgroup) and checks
 * wait whole periods; at nice 10 (a tenth of the weight) the checks come
 * first and the hash uses what they leave. A thread, because an
 * unprivileged process can raise its niceness but never lower it again.
 */
#define HASH_NICE	10

struct derive_job {
	const char		*pw;
	size_t			 pwlen;
	const unsigned char	*salt;
	const struct password_params *pp;
	unsigned char		*key;
	int			 rc;
	int			 nice;		/* it ran at; -100: unknown */
};

static int	last_nice = -100;
static int	said_inline;

static void
derive_run(struct derive_job *j)
{
	j->rc = crypto_scrypt(j->pw, j->pwlen, j->salt, PASSWORD_SALT_LEN,
	    (uint64_t)1 << j->pp->log2n, (uint32_t)j->pp->r,
	    (uint32_t)j->pp->p, j->key, PASSWORD_KEY_LEN);
}

static void *
derive_thread(void *arg)
{
	struct derive_job	*j = arg;
	/* Linux: a thread's niceness is its own (PRIO_PROCESS of its id). */
	id_t			 tid = (id_t)syscall(SYS_gettid);

	if (setpriority(PRIO_PROCESS, tid, HASH_NICE) == 0)
		j->nice = getpriority(PRIO_PROCESS, tid);
	derive_run(j);
	return NULL;
}

int
password_last_nice(void)
{
	return last_nice;
}

static int
derive(const char *pw, size_t pwlen, const unsigned char *salt,
    const struct password_params *pp, unsigned char key[PASSWORD_KEY_LEN])
{
	struct derive_job	 j = { pw, pwlen, salt, pp, key, -1, -100 };
	sigset_t		 all, old;
	pthread_t		 t;
	int			 started;

	/* The thread takes no signal: they stay the worker's (the main
	 * thread's, which waits in pthread_join meanwhile). Except those of
	 * a fault in the thread itself, which must reach their handlers
	 * (a sanitizer's report) rather than kill silently. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		started = 0;
	else {
		started = pthread_create(&t, NULL, derive_thread, &j) == 0;
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (started)
		(void)pthread_join(t, NULL);
	else {
		/* No thread to be had (RLIMIT_NPROC, a pids cgroup limit):
		 * here then, at the worker's niceness; said once. */
		if (!said_inline) {
			log_warn("password hashing runs in the worker itself, "
			    "not niced: no thread could be started (a limit on "
			    "processes or tasks?)");
			said_inline = 1;
		}
		derive_run(&j);
	}
	last_nice = j.nice;
	return j.rc;
}

int
password_hash(const char *pw, size_t pwlen, const struct password_params *pp,
    char *out, size_t outsz)
{
	unsigned char	 salt[PASSWORD_SALT_LEN], key[PASSWORD_KEY_LEN];
	char		 salt64[CRYPTO_B64_LEN(PASSWORD_SALT_LEN)];
	char		 key64[CRYPTO_B64_LEN(PASSWORD_KEY_LEN)];
	int		 n, rc = -1;

	if (!params_valid(pp) || pwlen > PASSWORD_MAX)
		return -1;
	if (crypto_random(salt, sizeof(salt)) == -1 ||
	    derive(pw, pwlen, salt, pp, key) == -1)
		goto out;
	if (crypto_b64url_encode(salt, sizeof(salt), salt64,
	    sizeof(salt64)) < 0 ||
	    crypto_b64url_encode(key, sizeof(key), key64, sizeof(key64)) < 0)
		goto out;
	n = snprintf(out, outsz, PREFIX "ln=%d,r=%d,p=%d$%s$%s", pp->log2n,
	    pp->r, pp->p, salt64, key64);
	if (n < 0 || (size_t)n >= outsz)
		goto out;
	rc = 0;
out:
	crypto_cleanse(key, sizeof(key));
	crypto_cleanse(key64, sizeof(key64));
	return rc;
}

int
password_verify(const char *pw, size_t pwlen, const char *hash)
{
	struct parsed	 ph;
	unsigned char	 key[PASSWORD_KEY_LEN];
	int		 rc;

	if (hash_parse(hash, &ph) == -1)
		return -1;
	if (pwlen > PASSWORD_MAX)
		return 0;
	if (derive(pw, pwlen, ph.salt, &ph.params, key) == -1)
		return -1;
	rc = crypto_memeq(key, ph.key, sizeof(key));
	crypto_cleanse(key, sizeof(key));
	crypto_cleanse(&ph, sizeof(ph));
	return rc;
}

int
password_params_parse(const char *hash, struct password_params *pp)
{
	struct parsed	 ph;

	if (hash_parse(hash, &ph) == -1)
		return -1;
	*pp = ph.params;
	return 0;
}

int
password_needs_rehash(const char *hash, const struct password_params *want)
{
	struct password_params	 have;

	if (password_params_parse(hash, &have) == -1)
		return 1;
	return have.log2n != want->log2n || have.r != want->r ||
	    have.p != want->p;
}

void
password_dummy_verify(const char *pw, size_t pwlen,
    const struct password_params *pp)
{
	unsigned char	 salt[PASSWORD_SALT_LEN] = { 0 };
	unsigned char	 key[PASSWORD_KEY_LEN];

	if (pwlen > PASSWORD_MAX)
		return;
	(void)derive(pw, pwlen, salt, pp, key);
	crypto_cleanse(key, sizeof(key));
}
