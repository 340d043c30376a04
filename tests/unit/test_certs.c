/* SPDX-License-Identifier: ISC */
/*
 * The daemon's view of the loaded credentials (src/daemon/certs.c): the
 * list-certs answer (each certificate and CRL once, by fingerprint, with
 * every connection that uses it and as what), the expiry check at a given
 * time, and an expired certificate of ours refused when it is loaded.
 */
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs.h"
#include "check.h"
#include "daemon/certs.h"
#include "daemon/config.h"

static void put_file(char *path, const uint8_t *data, size_t len, mode_t mode)
{
	CHECK(certs_put_file(path, data, len, mode) == 0);
}

static void put_pem2(char *path, X509 *a, X509 *b)
{
	size_t n1, n2;
	uint8_t *p1 = certs_pem(a, &n1), *p2 = b ? certs_pem(b, &n2) : NULL, *all;

	if (!b)
		n2 = 0;
	all = malloc(n1 + n2);
	memcpy(all, p1, n1);
	if (p2)
		memcpy(all + n1, p2, n2);
	put_file(path, all, n1 + n2, 0644);
	free(all);
	free(p1);
	free(p2);
}

/* The PKI: root -> intermediate -> gw (expires in 10 days), and a CRL of the root. */
struct pki {
	char key[32], chain[32], root[32], crl[32];
	uint8_t fp_ee[32], fp_im[32], fp_root[32];
};

static void pki_make(struct pki *f, long ee_to)
{
	EVP_PKEY *rk = certs_key("EC", "P-256", 0), *ik = certs_key("EC", "P-384", 0);
	EVP_PKEY *k = certs_key("RSA", NULL, 2048);
	X509 *root = certs_ca("certs test root", rk, NULL, NULL);
	X509 *im = certs_ca("certs test intermediate", ik, root, rk);
	X509 *ee = certs_make(&(struct certs_spec){.cn = "gw", .key = k, .issuer = im, .ikey = ik,
						   .from = -CERTS_DAY * 800, .to = ee_to,
						   .san = "DNS:gw.example.org", .serial = 0x1234});
	X509_CRL *crl = certs_crl(root, rk, NULL, 0, 3 * CERTS_DAY);
	unsigned int n;
	size_t len;
	uint8_t *b;

	strcpy(f->key, "/tmp/xike-key-XXXXXX");
	strcpy(f->chain, "/tmp/xike-crt-XXXXXX");
	strcpy(f->root, "/tmp/xike-ca-XXXXXX");
	strcpy(f->crl, "/tmp/xike-crl-XXXXXX");
	b = certs_key_pem(k, &len);
	put_file(f->key, b, len, 0600);
	free(b);
	put_pem2(f->chain, ee, im);
	put_pem2(f->root, root, NULL);
	b = certs_crl_der(crl, &len);
	put_file(f->crl, b, len, 0644);
	free(b);
	X509_digest(ee, EVP_sha256(), f->fp_ee, &n);
	X509_digest(im, EVP_sha256(), f->fp_im, &n);
	X509_digest(root, EVP_sha256(), f->fp_root, &n);
	X509_CRL_free(crl);
	X509_free(ee);
	X509_free(im);
	X509_free(root);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(rk);
}

static void pki_unlink(struct pki *f)
{
	unlink(f->key);
	unlink(f->chain);
	unlink(f->root);
	unlink(f->crl);
}

static void fp_str(const uint8_t fp[32], char out[96])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 3 * i, i < 31 ? "%02X:" : "%02X", fp[i]);
}

static json_object *by_fp(json_object *certs, const uint8_t fp[32])
{
	char s[96];
	json_object *v;

	fp_str(fp, s);
	for (size_t i = 0; i < json_object_array_length(certs); i++) {
		json_object *e = json_object_array_get_idx(certs, i);

		if (json_object_object_get_ex(e, "sha256", &v) &&
		    !strcmp(json_object_get_string(v), s))
			return e;
	}
	return NULL;
}

static const char *s_of(json_object *o, const char *k)
{
	json_object *v;

	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

/* "a:own,b:ca" from the used-by list. */
static void uses_of(json_object *e, char *out, size_t len)
{
	json_object *u;
	size_t o = 0;

	out[0] = '\0';
	if (!e || !json_object_object_get_ex(e, "used-by", &u))
		return;
	for (size_t i = 0; i < json_object_array_length(u); i++) {
		json_object *x = json_object_array_get_idx(u, i);

		o += (size_t)snprintf(out + o, len - o, "%s%s:%s", i ? "," : "", s_of(x, "conn"),
				      s_of(x, "as"));
	}
}

static int load(struct xd_config *cfg, const struct pki *f, char *err, size_t errlen)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[conn a]\nauth = pubkey\ncert = %s\nkey = %s\nca = %s\ncrl = %s\n"
		 "local-id = gw.example.org\n"
		 "[conn b]\nauth = psk\npsk = a secret of twenty bytes\nremote-auth = pubkey\nca = %s, %s\n",
		 f->chain, f->key, f->root, f->crl, f->root, f->root);
	return xd_config_parse(text, "t.conf", cfg, err, errlen);
}

/* The answer names each object once, with its fields and its users. */
static void test_list(void)
{
	struct xd_config cfg;
	struct pki f;
	char err[512] = "", uses[256];
	json_object *resp, *certs, *e;

	pki_make(&f, 10 * CERTS_DAY);
	CHECK_MSG(load(&cfg, &f, err, sizeof(err)) == 0, "%s", err);
	resp = xd_certs_json(&cfg, NULL, CERTS_NOW);
	CHECK(resp != NULL);
	CHECK(json_object_object_get_ex(resp, "certs", &certs));
	/* ee, intermediate, root (twice in b's list, and in a's), CRL */
	CHECK_INT(json_object_array_length(certs), 4);

	e = by_fp(certs, f.fp_ee);
	CHECK(e != NULL);
	CHECK_MSG(strstr(s_of(e, "subject"), "CN=gw") != NULL, "%s", s_of(e, "subject"));
	CHECK_MSG(strstr(s_of(e, "issuer"), "CN=certs test intermediate") != NULL, "%s",
		  s_of(e, "issuer"));
	CHECK_MSG(!strcmp(s_of(e, "serial"), "12:34"), "%s", s_of(e, "serial"));
	CHECK_MSG(!strcmp(s_of(e, "key-type"), "RSA"), "%s", s_of(e, "key-type"));
	CHECK_MSG(!strcmp(s_of(e, "key-bits"), "2048"), "%s", s_of(e, "key-bits"));
	CHECK_MSG(!strcmp(s_of(e, "days-left"), "10"), "%s", s_of(e, "days-left"));
	CHECK_MSG(!strcmp(s_of(e, "not-after"), "2027-01-25T08:00:00Z"), "%s",
		  s_of(e, "not-after"));
	uses_of(e, uses, sizeof(uses));
	CHECK_MSG(!strcmp(uses, "a:own"), "%s", uses);

	e = by_fp(certs, f.fp_im);
	CHECK_MSG(!strcmp(s_of(e, "key-type"), "EC") && !strcmp(s_of(e, "key-bits"), "384"),
		  "%s %s", s_of(e, "key-type"), s_of(e, "key-bits"));
	uses_of(e, uses, sizeof(uses));
	CHECK_MSG(!strcmp(uses, "a:intermediate"), "%s", uses);

	e = by_fp(certs, f.fp_root);
	uses_of(e, uses, sizeof(uses));
	CHECK_MSG(!strcmp(uses, "a:ca,b:ca"), "%s", uses);
	CHECK_MSG(!strcmp(s_of(e, "subject"), s_of(e, "issuer")), "root not self-issued");

	/* The CRL: its issuer, nextUpdate 3 days on, used by a only. */
	for (size_t i = 0; i < json_object_array_length(certs); i++) {
		e = json_object_array_get_idx(certs, i);
		if (!strcmp(s_of(e, "kind"), "crl"))
			break;
		e = NULL;
	}
	CHECK(e != NULL);
	CHECK_MSG(strstr(s_of(e, "issuer"), "CN=certs test root") != NULL, "%s", s_of(e, "issuer"));
	CHECK_MSG(!strcmp(s_of(e, "days-left"), "3"), "%s", s_of(e, "days-left"));
	uses_of(e, uses, sizeof(uses));
	CHECK_MSG(!strcmp(uses, "a:crl"), "%s", uses);
	json_object_put(resp);
	xd_config_free(&cfg);
	pki_unlink(&f);
}

struct seen {
	char what[512];
	size_t o;
};

static void seen_one(void *ctx, const char *conn, const struct ike_cert_info *in, long days)
{
	struct seen *s = ctx;

	s->o += (size_t)snprintf(s->what + s->o, sizeof(s->what) - s->o, "%s%s:%s:%ld",
				 s->o ? "," : "", conn, xd_cert_role_name(in->role), days);
}

/* What is within the window is reported, once per conn and object. */
static void test_expiring(void)
{
	struct xd_config cfg;
	struct pki f;
	char err[512] = "";
	struct seen s;

	pki_make(&f, 10 * CERTS_DAY);
	CHECK_MSG(load(&cfg, &f, err, sizeof(err)) == 0, "%s", err);

	memset(&s, 0, sizeof(s));
	CHECK_INT(xd_certs_expiring(&cfg, CERTS_NOW, 30, seen_one, &s), 2);
	CHECK_MSG(!strcmp(s.what, "a:own:10,a:crl:3"), "%s", s.what);

	memset(&s, 0, sizeof(s));
	CHECK_INT(xd_certs_expiring(&cfg, CERTS_NOW, 5, seen_one, &s), 1);
	CHECK_MSG(!strcmp(s.what, "a:crl:3"), "%s", s.what);

	/* 0: the check is off. */
	CHECK_INT(xd_certs_expiring(&cfg, CERTS_NOW, 0, seen_one, &s), 0);

	/* Eleven days on, both are past: days-left negative. */
	memset(&s, 0, sizeof(s));
	CHECK_INT(xd_certs_expiring(&cfg, CERTS_NOW + 11 * CERTS_DAY, 1, seen_one, &s), 2);
	CHECK_MSG(!strcmp(s.what, "a:own:-1,a:crl:-8"), "%s", s.what);
	xd_config_free(&cfg);
	pki_unlink(&f);

	CHECK_INT(xd_days_left(CERTS_NOW + 86399, CERTS_NOW), 0);
	CHECK_INT(xd_days_left(CERTS_NOW + 86400, CERTS_NOW), 1);
	CHECK_INT(xd_days_left(CERTS_NOW - 1, CERTS_NOW), -1);
}

/* Our certificate past its notAfter: the config is refused, saying when. */
static void test_expired_own(void)
{
	struct xd_config cfg;
	struct pki f;
	char err[512] = "";
	int r;

	/* notAfter two years before CERTS_NOW: in the past of any machine running this. */
	pki_make(&f, -730 * CERTS_DAY);
	r = load(&cfg, &f, err, sizeof(err));
	CHECK_MSG(r < 0 && strstr(err, "[a] cert: ") && strstr(err, "certificate expired on 2025-"),
		  "expired own cert: %d %s", r, err);
	if (r == 0)
		xd_config_free(&cfg);
	pki_unlink(&f);
}

/* The [global] key: a default, 0 and a refusal. */
static void test_key(void)
{
	struct xd_config cfg;
	char err[256] = "";

	CHECK_INT(xd_config_parse("[global]\n", "t.conf", &cfg, err, sizeof(err)), 0);
	CHECK_INT(cfg.cert_expiry_days, XD_CERT_EXPIRY_WARNING_DAYS);
	xd_config_free(&cfg);
	CHECK_INT(xd_config_parse("[global]\ncert-expiry-warning = 0\n", "t.conf", &cfg, err,
				  sizeof(err)), 0);
	CHECK_INT(cfg.cert_expiry_days, 0);
	xd_config_free(&cfg);
	CHECK(xd_config_parse("[global]\ncert-expiry-warning = -3\n", "t.conf", &cfg, err,
			      sizeof(err)) < 0);
	CHECK_MSG(strstr(err, "t.conf:2: [global] cert-expiry-warning:") != NULL, "%s", err);
}

/* The OCSP answers kept: each fresh one listed with its status, a stale one not. */
static void test_ocsp_cache(void)
{
	struct xd_config cfg;
	struct pki f;
	char err[512] = "";
	struct xd_ocsp *o = calloc(1, sizeof(*o));
	json_object *resp, *list, *e;

	pki_make(&f, 10 * CERTS_DAY);
	CHECK_MSG(load(&cfg, &f, err, sizeof(err)) == 0, "%s", err);
	o->cache[0] = (struct xd_ocsp_entry){
		.result = {.status = IKE_OCSP_GOOD, .reason = -1, .revoked_at = -1,
			   .this_update = CERTS_NOW - 60, .next_update = CERTS_NOW + 3600},
		.subject = "CN=peer one", .serial = "01:02",
		.responder = "http://192.0.2.9:8080/",
	};
	o->cache[1] = (struct xd_ocsp_entry){
		.result = {.status = IKE_OCSP_REVOKED, .reason = 1, .revoked_at = CERTS_NOW - 86400,
			   .this_update = CERTS_NOW - 60, .next_update = CERTS_NOW + 60},
		.subject = "CN=peer two", .serial = "03",
		.responder = "http://[2001:db8::9]:80/ocsp",
	};
	o->cache[2] = (struct xd_ocsp_entry){
		.result = {.status = IKE_OCSP_GOOD, .this_update = CERTS_NOW - 7200,
			   .next_update = CERTS_NOW},
		.subject = "CN=stale",
	};
	o->n_cache = 3;
	resp = xd_certs_json(&cfg, o, CERTS_NOW);
	CHECK(resp != NULL);
	CHECK(json_object_object_get_ex(resp, "ocsp", &list));
	CHECK_INT(json_object_array_length(list), 2);
	e = json_object_array_get_idx(list, 0);
	CHECK_MSG(!strcmp(s_of(e, "subject"), "CN=peer one"), "%s", s_of(e, "subject"));
	CHECK_MSG(!strcmp(s_of(e, "status"), "good"), "%s", s_of(e, "status"));
	CHECK(!json_object_object_get_ex(e, "reason", NULL));
	CHECK_MSG(!strcmp(s_of(e, "next-update"), "2027-01-15T09:00:00Z"), "%s",
		  s_of(e, "next-update"));
	CHECK_MSG(!strcmp(s_of(e, "responder"), "http://192.0.2.9:8080/"), "%s",
		  s_of(e, "responder"));
	e = json_object_array_get_idx(list, 1);
	CHECK_MSG(!strcmp(s_of(e, "status"), "revoked"), "%s", s_of(e, "status"));
	CHECK_MSG(!strcmp(s_of(e, "reason"), "keyCompromise"), "%s", s_of(e, "reason"));
	CHECK_MSG(!strcmp(s_of(e, "serial"), "03"), "%s", s_of(e, "serial"));
	json_object_put(resp);
	/* Without a cache the list is there and empty. */
	resp = xd_certs_json(&cfg, NULL, CERTS_NOW);
	CHECK(json_object_object_get_ex(resp, "ocsp", &list));
	CHECK_INT(json_object_array_length(list), 0);
	json_object_put(resp);
	xd_config_free(&cfg);
	pki_unlink(&f);
	free(o);
}

int main(void)
{
	test_list();
	test_ocsp_cache();
	test_expiring();
	test_expired_own();
	test_key();
	return check_done("certs");
}
