DROP TABLE login_failures;
DROP TABLE action_tokens;
