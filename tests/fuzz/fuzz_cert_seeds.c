/* SPDX-License-Identifier: ISC */
/*
 * Seeds for fuzz_cert, one file per case, written into the directory
 * given (tests/fuzz/corpus/fuzz_cert):
 *
 *   fuzz-cert-seeds DIR
 *
 * Signatures by the fixed keys stay valid across runs; the RSA key is
 * fresh in every process, so its seeds exercise the parsers only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_fixture.h"

static const char *dir;
static struct cert_fixture fx;

static void put(const char *name, uint8_t mode, const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(a, 1, alen, f) != alen ||
	    (blen && fwrite(b, 1, blen, f) != blen) || fclose(f)) {
		fprintf(stderr, "fuzz-cert-seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void auth_seed(const char *name, int key, uint32_t hashes, unsigned flags)
{
	uint8_t buf[2 + IKE_AUTH_SIG_MAX], method;
	size_t len = IKE_AUTH_SIG_MAX;

	if (ike_auth_sign(fx.creds[key], hashes, flags, (const uint8_t *)FX_OCTETS,
			  strlen(FX_OCTETS), &method, buf + 2, &len, NULL))
		exit(1);
	buf[0] = (uint8_t)key, buf[1] = method;
	put(name, 0, buf, 2 + len, NULL, 0);
}

/*
 * Mode 1: the end-entity certificate, the intermediate, an ID's octets;
 * the chain must validate as `want` says, or the seed would not reach
 * the path it is meant for.
 */
static void chain_seed(const char *name, X509 *ee, const char *tail, int want)
{
	size_t el, il, n = 0;
	uint8_t *e = certs_der(ee, &el), *i = certs_der(fx.inter, &il);
	uint8_t *buf = malloc(4 + el + il + strlen(tail));
	struct ike_cert *c = ike_cert_parse(e, el, NULL);
	struct ike_der ints[] = { { i, il } };
	const char *why = "";
	int ret = c ? ike_trust_validate(fx.trust, c, ints, 1, CERTS_NOW, IKE_PURPOSE_ANY, &why)
		    : -1;

	if (ret != want) {
		fprintf(stderr, "fuzz-cert-seeds: %s: %d (%s), expected %d\n", name, ret, why, want);
		exit(1);
	}
	ike_cert_free(c);

	buf[n++] = (uint8_t)(el >> 8), buf[n++] = (uint8_t)el;
	memcpy(buf + n, e, el), n += el;
	buf[n++] = (uint8_t)(il >> 8), buf[n++] = (uint8_t)il;
	memcpy(buf + n, i, il), n += il;
	put(name, 1, buf, n, (const uint8_t *)tail, strlen(tail));
	free(buf);
	free(e);
	free(i);
	X509_free(ee);
}

static void names_seeds(void)
{
	uint8_t buf[512];
	size_t len = sizeof(buf);
	static const uint8_t ids[] = "\x0d*.example.comgw.example.com";

	if (ike_trust_certreq(fx.trust, buf, &len))
		exit(1);
	put("certreq", 2, buf, len, NULL, 0);
	len = sizeof(buf);
	ike_sig_hashes_build(buf, &len);
	put("signature-hash-algorithms", 2, buf, len, NULL, 0);
	/* FQDN pattern and FQDN ID (index 1 in both 3-bit fields). */
	put("remote-id-wildcard", 2 | 1 << 2 | 1 << 5, ids, sizeof(ids) - 1, NULL, 0);
}

static void files_seeds(void)
{
	static const long revoked[] = { 666, 667 };
	X509_CRL *crl = certs_crl(fx.inter, fx.int_key, revoked, 2, 30 * CERTS_DAY);
	size_t len;
	uint8_t *p = certs_pem(fx.root, &len);

	put("ca-pem", 3, p, len, NULL, 0);
	free(p);
	p = certs_crl_der(crl, &len);
	put("crl-der", 3 | 4, p, len, NULL, 0);
	free(p);
	X509_CRL_free(crl);
}

int main(int argc, char **argv)
{
	static const char *const names[FX_KEYS] = { "rsa", "p256", "p384", "p521", "ed25519",
						    "ed448" };
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	cert_fixture_init(&fx);
	for (int k = 0; k < FX_KEYS; k++) {
		snprintf(name, sizeof(name), "auth-%s-14", names[k]);
		auth_seed(name, k, IKE_SIG_HASHES_OURS, 0);
	}
	auth_seed("auth-rsa-14-pkcs1", FX_RSA, IKE_SIG_HASHES_OURS, IKE_SIGN_RSA_PKCS1);
	auth_seed("auth-p256-9", FX_P256, 0, 0);
	auth_seed("auth-p384-10", FX_P384, 0, 0);
	auth_seed("auth-p521-11", FX_P521, 0, 0);
	chain_seed("chain-valid", cert_fixture_ee(&fx, fx.keys[FX_P256], 100, 0, 0),
		   "\x02peer.example.com", 0);
	chain_seed("chain-revoked", cert_fixture_ee(&fx, fx.keys[FX_P384], 666, 0, 0), "",
		   -EKEYREVOKED);
	chain_seed("chain-expired",
		   cert_fixture_ee(&fx, fx.keys[FX_ED25519], 101, -10 * CERTS_DAY, -CERTS_DAY),
		   "", -EKEYEXPIRED);
	names_seeds();
	files_seeds();
	return 0;
}
