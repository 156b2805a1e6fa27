/*
 * json_input_parse(), the parser of every JSON request body and WebSocket
 * frame, then the rules that read the members of what it accepted.
 */
#include "fuzz.h"
#include "json_input.h"
#include "rules.h"
#include "utf8.h"

/* The members that requests (CONTRACT §5, §6) carry. */
static const char *const fuzz_members[] = {
	"type", "temp_id", "receiver_id", "message_id", "content",
	"username", "email", "password", "full_name", "avatar", "is_typing",
	"refresh_token", "group_id", "name", "description", "role",
	"member_ids", "group_ids", "account_id",
};

/* The lists of UUIDs that group requests (CONTRACT §11) carry. */
#define FUZZ_LIST_MAX	8

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), out[UUID_TEXT_SIZE];
	char list[RULES_UUID_LIST_SIZE(FUZZ_LIST_MAX)];
	struct json_object *obj;
	struct rules_error e;
	const char *value;
	size_t len;

	if (json_input_parse(text, size, &obj) != JSON_INPUT_OK) {
		FUZZ_CHECK(obj == NULL);
		free(text);
		return 0;
	}
	FUZZ_CHECK(json_object_is_type(obj, json_type_object));
	for (size_t i = 0; i < sizeof(fuzz_members) / sizeof(fuzz_members[0]);
	    i++) {
		const char *name = fuzz_members[i];

		if (json_input_string(obj, name, &value, &len) ==
		    JSON_FIELD_OK) {
			FUZZ_CHECK(strlen(value) == len);
			/* What reaches a handler is text, as the input was. */
			FUZZ_CHECK(utf8_valid(value, len));
		}
		if (rules_json_string(obj, name, 1, &value, &len, &e) == 0 &&
		    value != NULL)
			(void)rules_string(value, len, 1, 64, &e);
		if (rules_json_uuid(obj, name, out, &e) == 0)
			FUZZ_CHECK(strlen(out) == UUID_TEXT_SIZE - 1);
		if (rules_json_content(obj, name, &value, &e) == 0)
			FUZZ_CHECK(value != NULL);
		if (json_input_string(obj, name, &value, &len) ==
		    JSON_FIELD_OK)
			(void)rules_url(value, &e);
		for (int unique = 0; unique <= 1; unique++)
			if (rules_json_uuid_list(obj, name, FUZZ_LIST_MAX,
			    unique, list, &len, &e) == 0) {
				FUZZ_CHECK(len <= FUZZ_LIST_MAX);
				/* "{}", or the ids and their separators. */
				FUZZ_CHECK(strlen(list) == (len == 0 ? 2 :
				    len * UUID_TEXT_SIZE + 1));
			}
	}
	if (rules_json_temp_id(obj, &value, &len, &e) == 0 && value != NULL)
		FUZZ_CHECK(len < RULES_TEMP_ID_SIZE);
	json_object_put(obj);
	free(text);
	return 0;
}
