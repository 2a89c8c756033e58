package state

import "net/url"

// Account settings are stored one document (a model.Setting) per principal
// and setting name. The account default is the root user's own setting, as in
// ECS, where PutAccountSettingDefault is PutAccountSetting for the root user.
//
// A principal ARN holds '/' (role paths), so it is escaped into one key
// segment: no principal's prefix is then a prefix of another's keys.

// AccountSettingsPrincipalPrefix is the prefix of one principal's settings.
func AccountSettingsPrincipalPrefix(principalArn string) string {
	return AccountSettingsPrefix + url.PathEscape(principalArn) + "/"
}

// AccountSettingKey is the key of one principal's setting by name.
func AccountSettingKey(principalArn, name string) string {
	return AccountSettingsPrincipalPrefix(principalArn) + name
}
