/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: what an OCSP responder (or whoever answers in its place)
 * can send: the DER after byte 0 goes to ike_ocsp_check about a fixed
 * certificate of the fixed intermediate CA of cert_fixture.h, at
 * CERTS_NOW.  Byte 0: bit 0 asks with the nonce FZ_NONCE (else with
 * none), bit 1 trusts a self-signed Ed25519 responder locally.  Signers
 * the seeds use: the intermediate itself, its delegated responder
 * (P-384, id-kp-OCSPSigning) and the local one; their keys are fixed, so
 * seeds made by one run verify in the next.
 *
 * Built with -DFUZZ_OCSP_SEEDS it is fuzz-ocsp-seeds, which writes those
 * seeds into the directory given (tests/fuzz/corpus/fuzz_ocsp).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>

#include "cert_fixture.h"
#include "ike/ocsp.h"

#define FZ_NONCE "fuzz_ocsp nonce!"

static struct cert_fixture fx;
static X509 *ee, *delegated, *local;
static uint8_t *ee_der, *int_der, *local_der;
static size_t ee_len, int_len, local_len;

static void fixture(void)
{
	cert_fixture_init(&fx);
	ee = cert_fixture_ee(&fx, fx.keys[FX_P256], 77, 0, 0);
	delegated = certs_make(&(struct certs_spec){
		.cn = "fuzz responder", .key = fx.keys[FX_P384], .issuer = fx.inter,
		.ikey = fx.int_key, .eku = "OCSPSigning", .serial = 78 });
	local = certs_make(&(struct certs_spec){ .cn = "fuzz local responder",
						  .key = fx.keys[FX_ED25519] });
	ee_der = certs_der(ee, &ee_len);
	int_der = certs_der(fx.inter, &int_len);
	local_der = certs_der(local, &local_len);
}

#ifndef FUZZ_OCSP_SEEDS

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fixture();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike_der trusted = { local_der, local_len };
	struct ike_ocsp_query q = {
		.cert = { ee_der, ee_len },
		.issuer = { int_der, int_len },
	};
	struct ike_ocsp_result r;
	const char *why = NULL;
	int ret;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		memcpy(q.nonce, FZ_NONCE, strlen(FZ_NONCE));
		q.nonce_len = strlen(FZ_NONCE);
	}
	if (data[0] & 2) {
		q.trusted = &trusted;
		q.n_trusted = 1;
	}
	ret = ike_ocsp_check(&q, data + 1, size - 1, CERTS_NOW, &r, &why);
	/* Every refusal has its reason; every acceptance a sane answer. */
	if (ret && !why)
		abort();
	if (!ret && (r.status > IKE_OCSP_UNKNOWN || r.next_update < r.this_update))
		abort();
	return 0;
}

#else

static const char *dir;

static void put(const char *name, uint8_t mode, const struct certs_ocsp_spec *s)
{
	size_t len;
	uint8_t *der = certs_ocsp_response(s, &len);
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(der, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "fuzz-ocsp-seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	free(der);
}

int main(int argc, char **argv)
{
	struct certs_ocsp_spec s;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-ocsp-seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	fixture();
	s = (struct certs_ocsp_spec){
		.cert = ee, .issuer = fx.inter, .signer = fx.inter, .skey = fx.int_key,
		.status = V_OCSP_CERTSTATUS_GOOD, .reason = -1, .this_off = -60,
		.next_off = CERTS_DAY, .nonce = (const uint8_t *)FZ_NONCE,
		.nonce_len = strlen(FZ_NONCE),
	};
	put("good-issuer", 1, &s);
	s.status = V_OCSP_CERTSTATUS_REVOKED;
	s.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
	put("revoked", 1, &s);
	s.status = V_OCSP_CERTSTATUS_UNKNOWN;
	s.reason = -1;
	s.no_next = 1;
	put("unknown-no-next", 1, &s);
	s.status = V_OCSP_CERTSTATUS_GOOD;
	s.no_next = 0;
	s.signer = delegated;
	s.skey = fx.keys[FX_P384];
	s.nonce = NULL;
	put("good-delegated-no-nonce", 0, &s);
	s.signer = local;
	s.skey = fx.keys[FX_ED25519];
	put("good-local", 2, &s);
	s.resp_status = OCSP_RESPONSE_STATUS_TRYLATER;
	put("trylater", 0, &s);
	return 0;
}

#endif
