/* SPDX-License-Identifier: ISC */
/*
 * The credential files of a [conn] (cert, key, ca, crl, ocsp-trust): read when the
 * configuration is loaded (as root, before privileges are dropped, and
 * again on each reload) into the engine's objects (ike/cert.h), which the
 * connection owns.  A key file other users may read is refused, as a
 * psk-file is.  A digest of everything read lets a reload see that a file
 * changed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/secret.h"
#include "ike/cert.h"
#include "ike/crypto.h"

/* path may be NULL: then why is the whole message. */
static int cred_fail(struct xd_cred_err *e, const char *key, unsigned line, const char *path,
		     const char *why)
{
	e->key = key;
	e->line = line;
	if (path)
		snprintf(e->msg, sizeof(e->msg), "%s: %s", path, why);
	else
		snprintf(e->msg, sizeof(e->msg), "%s", why);
	return -EINVAL;
}

/* The whole file, at most IKE_CRED_BLOB_MAX octets; a secret must not be readable by others. */
static int read_blob(const char *path, bool secret, uint8_t **out, size_t *len,
		     const char **why)
{
	struct stat st;
	FILE *f = fopen(path, "re");
	uint8_t *buf;

	if (!f) {
		*why = strerror(errno);
		return -errno;
	}
	if (fstat(fileno(f), &st) < 0 || st.st_size <= 0 || st.st_size > IKE_CRED_BLOB_MAX) {
		fclose(f);
		*why = "empty, unreadable or larger than 1 MiB";
		return -EINVAL;
	}
	if (secret && (st.st_mode & S_IRWXO)) {
		fclose(f);
		*why = "other users may read it (chmod 640 or 600)";
		return -EACCES;
	}
	buf = malloc((size_t)st.st_size);
	*len = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (!buf || *len != (size_t)st.st_size) {
		xk_free_secret(buf, (size_t)st.st_size);
		*why = "cannot read it";
		return -EIO;
	}
	*out = buf;
	return 0;
}

/* digest = SHA-256(digest | SHA-256(blob)): any change to any file shows. */
static void digest_add(uint8_t digest[32], const uint8_t *blob, size_t len)
{
	uint8_t two[64];

	memcpy(two, digest, 32);
	ike_sha256(blob, len, two + 32);
	ike_sha256(two, sizeof(two), digest);
	xk_wipe(two, sizeof(two));
}

typedef int (*blob_use)(void *obj, const uint8_t *blob, size_t len, const char **why);

/* Read one file and hand it to use(obj, ...). */
static int load_one(struct xd_conn *c, const char *key, unsigned line, const char *path,
		    bool secret, blob_use use, void *obj, struct xd_cred_err *e)
{
	const char *why = "";
	uint8_t *blob = NULL;
	size_t len = 0;
	int err = read_blob(path, secret, &blob, &len, &why);

	if (err < 0)
		return cred_fail(e, key, line, path, why);
	digest_add(c->cred_digest, blob, len);
	err = use(obj, blob, len, &why);
	xk_free_secret(blob, len);
	if (err < 0)
		return cred_fail(e, key, line, path, why ? why : "refused");
	return 0;
}

static int use_certs(void *obj, const uint8_t *blob, size_t len, const char **why)
{
	return ike_cred_add_certs(obj, blob, len, why);
}

static int use_key(void *obj, const uint8_t *blob, size_t len, const char **why)
{
	return ike_cred_new(blob, len, obj, why);
}

static int use_ca(void *obj, const uint8_t *blob, size_t len, const char **why)
{
	return ike_trust_add_ca(obj, blob, len, why);
}

static int use_crl(void *obj, const uint8_t *blob, size_t len, const char **why)
{
	return ike_trust_add_crl(obj, blob, len, why);
}

static int use_ocsp_signer(void *obj, const uint8_t *blob, size_t len, const char **why)
{
	return ike_trust_add_ocsp_signer(obj, blob, len, why);
}

struct own_expiry {
	bool seen;
	int64_t not_after;
};

static void own_expiry(void *ctx, const struct ike_cert_info *in)
{
	struct own_expiry *o = ctx;

	if (in->role == IKE_CERT_OWN) {
		o->seen = true;
		o->not_after = in->not_after;
	}
}

/*
 * An expired certificate of ours would fail every IKE_AUTH at the peer
 * with a bare AUTHENTICATION_FAILED: say so here, where it can be fixed.
 */
static int own_cert_current(struct xd_conn *c, struct xd_cred_err *e)
{
	struct own_expiry o = {0};
	char when[32] = "";
	time_t t;
	struct tm tm;

	ike_cred_visit(c->cred, own_expiry, &o);
	if (!o.seen || o.not_after < 0 || o.not_after >= (int64_t)time(NULL))
		return 0;
	t = (time_t)o.not_after;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	e->key = "cert";
	e->line = c->cert_line;
	/* The path cut so that the date always shows. */
	snprintf(e->msg, sizeof(e->msg), "%.200s: the certificate expired on %s (notAfter)",
		 c->cert_file, when);
	return -EKEYEXPIRED;
}

static int load_cred(struct xd_conn *c, struct xd_cred_err *e)
{
	if (!*c->key_file)
		return cred_fail(e, "key", c->line, NULL, "missing (auth = pubkey needs key and cert)");
	if (!*c->cert_file)
		return cred_fail(e, "cert", c->line, NULL, "missing (auth = pubkey needs key and cert)");
	if (load_one(c, "key", c->key_line, c->key_file, true, use_key, &c->cred, e) < 0)
		return -EINVAL;
	if (load_one(c, "cert", c->cert_line, c->cert_file, false, use_certs, c->cred, e) < 0)
		return -EINVAL;
	return own_cert_current(c, e);
}

static int load_trust(struct xd_conn *c, struct xd_cred_err *e)
{
	char list[sizeof(c->ca_files)], *save = NULL;

	if (!*c->ca_files)
		return cred_fail(e, "ca", c->line, NULL, "missing (remote-auth = pubkey needs ca)");
	c->trust = ike_trust_new();
	if (!c->trust)
		return cred_fail(e, "ca", c->ca_line, NULL, "out of memory");
	memcpy(list, c->ca_files, sizeof(list));
	for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		while (*f == ' ' || *f == '\t')
			f++;
		for (char *end = f + strlen(f); end > f && (end[-1] == ' ' || end[-1] == '\t');)
			*--end = '\0';
		if (*f && load_one(c, "ca", c->ca_line, f, false, use_ca, c->trust, e) < 0)
			return -EINVAL;
	}
	if (!ike_trust_ca_count(c->trust))
		return cred_fail(e, "ca", c->ca_line, NULL, "no CA certificate");
	if (*c->crl_file &&
	    load_one(c, "crl", c->crl_line, c->crl_file, false, use_crl, c->trust, e) < 0)
		return -EINVAL;
	if (*c->ocsp_trust_file)
		return load_one(c, "ocsp-trust", c->ocsp_trust_line, c->ocsp_trust_file, false,
				use_ocsp_signer, c->trust, e);
	return 0;
}

int xd_conn_load_creds(struct xd_conn *c, struct xd_cred_err *e)
{
	memset(c->cred_digest, 0, sizeof(c->cred_digest));
	if (c->auth == IKE_AUTH_PUBKEY && load_cred(c, e) < 0)
		return -EINVAL;
	if (c->remote_auth == IKE_AUTH_PUBKEY && load_trust(c, e) < 0)
		return -EINVAL;
	return 0;
}

void xd_conn_free_creds(struct xd_conn *c)
{
	ike_cred_free(c->cred);
	ike_trust_free(c->trust);
	c->cred = NULL;
	c->trust = NULL;
}
