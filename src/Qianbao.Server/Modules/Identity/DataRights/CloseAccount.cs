using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.DataRights;

/// <summary>
/// <c>DELETE /v1/me</c> <c>{password}</c> → 204: closes the caller's account (PIPL art. 47, GDPR art. 17). It is destructive,
/// so the login password is asked again, whatever the token (a wrong one is 403 <c>invalid_current_password</c> and counts
/// toward the login lock, as for a password change). Only an account holding no money can close: every wallet balance zero
/// and nothing pending in or out, else 409 <c>balance_not_zero</c> with the balances, and nothing changes.
/// </summary>
/// <remarks>
/// Closing first marks the account closed, so it can no longer be found to pay (by phone or id) while its balances are
/// checked; a refusal unmarks it. Then, in one transaction: every session is revoked; devices, bank cards and
/// verifications are deleted; security events keep their kind and time but lose device and address; the users row keeps
/// its id, tier, locale and dates (the ledger's accounts and entries name the id, and stay intact for the ledger check and
/// the record-keeping the AML rules require) while the phone (index and sealed value), names, identity, PIN, TOTP and
/// password are erased. The phone is free again: it can register a new account. Then every other module erases what
/// it holds (<see cref="IPersonalDataSource"/>), e.g. the messages sent to the phone.
/// </remarks>
internal static class CloseAccount
{
    public sealed record Request(string? Password);

    public static void Map(IEndpointRouteBuilder app) => app.MapDelete("/v1/me", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, LoginThrottle throttle, Sessions sessions,
        SecurityEvents events, UserDirectory users, MaskedNameCache maskedNames, LedgerAccounts ledger, PersonalDataExport personalData, TimeProvider clock,
        ILoggerFactory loggers, UserStates states, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (request!.Password is not { Length: > 0 and <= RegisterUser.PasswordLengthMax })
            return ApiProblem.BadRequest(ErrorCodes.InvalidPassword, "password (the login password) is required to close the account.");
        var caller = http.Session();
        var userId = caller.UserId;
        var address = http.ClientAddress();

        var contact = await users.ContactAsync(userId, ct);
        await using var connection = await db.OpenAsync(ct);
        var user = await connection.QuerySingleOrDefaultAsync<(string PasswordHash, long? LockedUntilUs, long? ClosedAtUs)?>(new CommandDefinition(
            "SELECT password_hash, login_locked_until_us, closed_at_us FROM users WHERE id = @userId", new { userId }, cancellationToken: ct));
        if (user is not { ClosedAtUs: null } u || contact is null) return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists.");
        if (throttle.Remaining(u.LockedUntilUs) is { } lockLeft) return LoginThrottle.Locked(lockLeft);
        if (!hasher.Verify(request.Password, u.PasswordHash))
        {
            await using var failTx = await connection.BeginTransactionAsync(ct);
            var lockedUntil = await throttle.CountFailureAsync(connection, failTx, userId, ct);
            await events.AppendAsync(connection, failTx, userId, SecurityEventKind.LoginFailed, null, address, "wrong password to close the account", ct);
            await failTx.CommitAsync(ct);
            return lockedUntil is not null ? LoginThrottle.Locked(LoginThrottle.LockDuration)
                : ApiProblem.Forbidden(ErrorCodes.InvalidCurrentPassword, "password is wrong.");
        }

        // Closed first, so nobody can start paying the account while its balances are read.
        var nowUs = clock.GetUnixMicroseconds();
        if (await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET closed_at_us = @nowUs WHERE id = @userId AND closed_at_us IS NULL",
                new { userId, nowUs }, cancellationToken: ct)) == 0)
            return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists.");
        // Nobody may be sent money from here on, in this process or another (recipients are held in memory: UserStates).
        await states.ChangedAsync(userId);
        await connection.DisposeAsync();
        var wallets = await ledger.OwnedAsync(userId, AccountCodes.UserWallet, ct);
        var holding = wallets.Where(a => a.CreditsPosted != a.DebitsPosted || a.DebitsPending != 0 || a.CreditsPending != 0).ToList();
        await using var again = await db.OpenAsync(ct);
        if (holding.Count > 0)
        {
            await again.ExecuteAsync(new CommandDefinition("UPDATE users SET closed_at_us = NULL WHERE id = @userId AND closed_at_us = @nowUs",
                new { userId, nowUs }, cancellationToken: ct));
            await states.ChangedAsync(userId);
            return ApiProblem.WithExtensions(StatusCodes.Status409Conflict, ErrorCodes.BalanceNotZero, "Conflict.",
                "The account still holds money or has money pending: withdraw or spend it first, then close the account.",
                new Dictionary<string, object?>
                {
                    ["balances"] = holding.Select(a => new
                    {
                        currency = a.Currency.Code, balance = a.CreditsPosted - a.DebitsPosted, pending_in = a.CreditsPending, pending_out = a.DebitsPending,
                    }).ToList(),
                });
        }

        await using var tx = await again.BeginTransactionAsync(ct);
        await again.ExecuteAsync(new CommandDefinition("""
            UPDATE users SET phone = @erasedPhone, phone_enc = NULL, name = '', identity_name = NULL, identity_number_hash = NULL,
                   identity_number_enc = NULL, identity_number_masked = NULL, birth_date = NULL, password_hash = '', pin_hash = NULL,
                   totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL
            WHERE id = @userId
            """, new { userId, erasedPhone = "closed:" + userId.ToString("N") }, tx, cancellationToken: ct));
        await MaskedNameCache.NotifyChangedAsync(again, tx, userId, ct);
        var revoked = await sessions.RevokeAllAsync(again, tx, userId, except: null, RevokeReason.AccountClosed, ct);
        foreach (var table in new[] { "devices", "bank_cards", "verifications" })
            await again.ExecuteAsync(new CommandDefinition($"DELETE FROM {table} WHERE user_id = @userId", new { userId }, tx, cancellationToken: ct));
        await again.ExecuteAsync(new CommandDefinition("UPDATE security_events SET device_id = NULL, client_address = NULL, detail = NULL WHERE user_id = @userId",
            new { userId }, tx, cancellationToken: ct));
        await events.AppendAsync(again, tx, userId, SecurityEventKind.AccountClosed, null, null, null, ct);
        await tx.CommitAsync(ct);
        maskedNames.Forget(userId);
        await states.ChangedAsync(userId);
        sessions.Published(revoked);

        await personalData.EraseAsync(new DataSubject(userId, contact.Value.Phone), ct);
        loggers.CreateLogger(typeof(CloseAccount)).LogInformation("User {UserId} closed their account; personal data erased", userId);
        return Results.NoContent();
    }
}
