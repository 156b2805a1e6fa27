/*
 * form_parse() and form_decode(): the login form
 * (application/x-www-form-urlencoded) and every query string.
 */
#include "form.h"
#include "fuzz.h"

/* Whether outlen is a length that decoding len bytes may give. */
static int
fuzz_decoded_length_ok(size_t len, size_t outlen)
{
	/* Every escape shortens by two, nothing lengthens. */
	return outlen <= len && (len - outlen) % 2 == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *out;
	struct form form;
	size_t outlen;

	for (int plus = 0; plus <= 1; plus++) {
		out = form_decode(text, size, plus, &outlen);
		FUZZ_CHECK(out != NULL);
		FUZZ_CHECK(out[outlen] == '\0');
		FUZZ_CHECK(fuzz_decoded_length_ok(size, outlen));
		free(out);
	}

	FUZZ_CHECK(form_parse(&form, text, size) == 0);
	FUZZ_CHECK(form.nfields >= 0 && form.nfields <= FORM_MAX_FIELDS);
	for (int i = 0; i < form.nfields; i++) {
		const struct form_field *f = &form.fields[i];

		FUZZ_CHECK(f->name != NULL && f->value != NULL);
		FUZZ_CHECK(f->value[f->value_len] == '\0');
		FUZZ_CHECK(form_get(&form, f->name) != NULL);
	}
	(void)form_get(&form, "username");
	(void)form_get(&form, "password");
	form_free(&form);
	free(text);
	return 0;
}
