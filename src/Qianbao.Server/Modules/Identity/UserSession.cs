namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Who a valid access token speaks for: the user, the login session it belongs to (revoking the session refuses
/// the token) and when the session's device first logged in to this account (for the new-device step-up window).
/// </summary>
internal readonly record struct UserSession(Guid UserId, Guid SessionId, long DeviceFirstSeenAtUnixSeconds);
