using System.Globalization;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity.Spending;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.Pins;

/// <summary>What a PIN a person wants to set is like.</summary>
internal enum PinQuality : byte
{
    Acceptable,

    /// <summary>Not exactly 6 ASCII digits.</summary>
    Malformed,

    /// <summary>One digit repeated, a run up or down (wrapping past 9 to 0 and back), or the verified birth date as YYMMDD.</summary>
    Weak,
}

/// <summary>How checking the <c>X-Payment-Pin</c> of a request ended. Exhaustive.</summary>
internal enum PinCheckOutcome : byte
{
    Accepted,
    NotSet,
    Missing,

    /// <summary>Locked (before this request, or by this request's wrong PIN, the last one allowed).</summary>
    Locked,
    Wrong,
}

internal readonly record struct PinCheck(PinCheckOutcome Outcome, int AttemptsLeft = 0, DateTimeOffset? LockedUntil = null);

/// <summary>
/// The payment PIN: 6 digits that every money-moving request of a user carries in <c>X-Payment-Pin</c> (top-ups excepted:
/// they move money from the person's own bank card into their own wallet, which the bank authorises).
/// <para>
/// Stored as a keyed hash (HMAC-SHA256 with <see cref="IdentityKeys.PaymentPins"/>, over the user id and the PIN), not a
/// slow KDF: a 6-digit secret has 10^6 values, which a thief of the database would try in seconds whatever the cost of one
/// hash, so a slow hash would only slow the money path. What protects the PIN is the server-side key (a stolen table
/// alone yields nothing) and the online lockout: <see cref="WrongTriesMax"/> wrong PINs in a row lock payments for
/// <see cref="LockDuration"/> or until a new PIN is set with an SMS code.
/// </para>
/// <para>
/// A check is one keyed hash, and no round trip, when the PIN is right and no wrong one is counted (the common case: the
/// clean PIN state is held in memory by <see cref="UserStates"/>, or read once; no write, so no commit to flush); otherwise one statement (an indexed UPDATE … RETURNING) in which the database decides, row-locked,
/// whether the account is locked and counts a wrong PIN. Checks of one person in one server process run one at a time (a
/// striped lock), so a wrong PIN is committed before the next check reads: at most <see cref="WrongTriesMax"/> wrong ones
/// in a row are ever tested before the lock, and a right one that arrives after the lock is refused too. Across server
/// processes a simultaneous burst can have one more check in flight per further process (a read that ran before another
/// process's wrong PIN committed, or a clean state held in memory until that process's notification arrives, which only
/// ever accepts the right PIN): at most <see cref="WrongTriesMax"/> − 1 + P PINs with P processes.
/// </para>
/// </summary>
internal sealed class PaymentPins(Db db, IdentityKeys keys, UserData data, SecurityEvents events, Tiers.TierStore tiers, UserStates states,
    TimeProvider clock)
{
    public const int Length = 6;
    public const int WrongTriesMax = 5;

    /// <summary>Stripes of the per-person check lock: fixed memory; two people share a stripe only for the length of one read.</summary>
    private const int LockStripes = 1024;

    private readonly SemaphoreSlim[] stripes = [.. Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1))];
    public static readonly TimeSpan LockDuration = TimeSpan.FromHours(3);
    public const string Header = "X-Payment-Pin";

    /// <summary>Whether a spend of <paramref name="kind"/> needs the PIN: everything but a top-up (see the class summary).</summary>
    public static bool Needed(SpendKind kind) => kind != SpendKind.TopUp;

    public static bool IsWellFormed(string? pin) => pin is { Length: Length } && pin.All(char.IsAsciiDigit);

    /// <param name="birthDate">The verified identity's birth date, YYYYMMDD, or null before real-name verification.</param>
    public static PinQuality Judge(string? pin, string? birthDate)
    {
        if (pin is null || !IsWellFormed(pin)) return PinQuality.Malformed;
        if (pin.All(c => c == pin[0])) return PinQuality.Weak;
        if (IsRun(pin, +1) || IsRun(pin, -1)) return PinQuality.Weak;
        if (birthDate is { Length: 8 } && pin == birthDate[2..]) return PinQuality.Weak;
        return PinQuality.Acceptable;
    }

    /// <summary>Each digit one more (or less) than the one before, wrapping 9→0 (and 0→9): 123456, 789012, 987654, 210987.</summary>
    private static bool IsRun(string pin, int step)
    {
        for (var i = 1; i < pin.Length; i++)
            if ((pin[i - 1] - '0' + step + 10) % 10 != pin[i] - '0') return false;
        return true;
    }

    /// <summary>Where to send the SMS about a PIN change, in which language, and the birth date a PIN may not be; null if no such user.</summary>
    public async Task<(string Phone, string Locale, string? BirthDate)?> HolderAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string? PhoneEnc, string Locale, string? BirthDate)?>(new CommandDefinition(
            "SELECT phone_enc, locale, birth_date FROM users WHERE id = @userId", new { userId }, cancellationToken: ct));
        return row is { } r && data.Open(userId, "phone_enc", r.PhoneEnc) is { } phone ? (phone, r.Locale, r.BirthDate) : null;
    }

    /// <summary>
    /// Sets the PIN (the caller has checked it and consumed the SMS code), which also lifts a lock and clears the wrong-try
    /// count; the security event <c>pin_set</c> and its alert (in the app and by SMS) commit with it.
    /// </summary>
    public async Task SetAsync(Guid userId, string pin, string? clientAddress, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET pin_hash = @hash, pin_failures = 0, pin_locked_until_us = NULL WHERE id = @userId",
            new { userId, hash = Hash(userId, pin) }, tx, cancellationToken: ct));
        await events.AppendAsync(connection, tx, userId, SecurityEventKind.PinSet, null, clientAddress, null, ct, SecurityAlert.PinChanged);
        await tx.CommitAsync(ct);
        await states.ChangedAsync(userId);
    }

    /// <summary>The gate's PIN step: null to go on, or the 403 to answer.</summary>
    public async ValueTask<IResult?> GateAsync(HttpContext http, SpendKind kind, CancellationToken ct)
    {
        if (!Needed(kind)) return null;
        var check = await CheckAsync(http.UserId(), http.Request.Headers[Header].ToString(), http.Connection.RemoteIpAddress?.ToString(), ct);
        return check.Outcome switch
        {
            PinCheckOutcome.Accepted => null,
            PinCheckOutcome.NotSet => ApiProblem.Forbidden(ErrorCodes.PinNotSet,
                "Set a payment PIN first: PUT /v1/me/payment-pin with a code from POST /v1/verifications (purpose set_pin)."),
            PinCheckOutcome.Missing => ApiProblem.Forbidden(ErrorCodes.PinRequired, $"Send the payment PIN in the {Header} header."),
            PinCheckOutcome.Locked => ApiProblem.WithExtensions(StatusCodes.Status403Forbidden, ErrorCodes.PinLocked, "Not allowed.",
                $"Too many wrong PINs: payments are locked until locked_until, or until a new PIN is set with an SMS code.",
                new Dictionary<string, object?> { ["locked_until"] = check.LockedUntil }),
            PinCheckOutcome.Wrong => ApiProblem.WithExtensions(StatusCodes.Status403Forbidden, ErrorCodes.InvalidPin, "Not allowed.",
                $"The payment PIN is wrong; after {WrongTriesMax} wrong PINs in a row payments lock for {LockDuration.TotalHours:0} hours.",
                new Dictionary<string, object?> { ["attempts_left"] = check.AttemptsLeft }),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), check.Outcome, "unknown PIN check outcome"),
        };
    }

    /// <param name="pin">The header's value; empty when absent. Anything but 6 digits is a wrong PIN (it counts).</param>
    public async Task<PinCheck> CheckAsync(Guid userId, string pin, string? clientAddress, CancellationToken ct)
    {
        var stripe = stripes[(userId.GetHashCode() & int.MaxValue) % LockStripes];
        await stripe.WaitAsync(ct);
        try
        {
            return await CheckOneAtATimeAsync(userId, pin, clientAddress, ct);
        }
        finally
        {
            stripe.Release();
        }
    }

    private async Task<PinCheck> CheckOneAtATimeAsync(Guid userId, string pin, string? clientAddress, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var nowUs = now.ToUnixMicroseconds();
        var lockUntilUs = now.Add(LockDuration).ToUnixMicroseconds();
        if (pin.Length > 0 && IsWellFormed(pin))
        {
            // The common case decided without a write: the right PIN, no wrong one counted, no lock (not even a run-out one,
            // which the statement below resets), as held in memory (UserStates: every change of the PIN state forgets it here
            // before this stripe is released, and in other processes by notification) or read. Anything else goes to the
            // statement, which decides and counts.
            var given = Hash(userId, pin);
            if (await states.GetAsync(userId, ct) is { PinClean: true } current && current.PinHash == given)
            {
                tiers.Remember(userId, current.Tier);
                return new PinCheck(PinCheckOutcome.Accepted);
            }
        }
        await using var connection = await db.OpenAsync(ct);
        if (pin.Length > 0)
        {
            // A malformed PIN hashes to something no stored PIN equals. One statement decides and counts (see the class
            // summary); SET expressions see the row as it was. A lock that has run out starts a new series at 1.
            var given = IsWellFormed(pin) ? Hash(userId, pin) : "-";
            var row = await connection.QuerySingleOrDefaultAsync<PinRow>(new CommandDefinition("""
                UPDATE users SET
                    pin_failures = CASE WHEN pin_hash = @given THEN 0
                                        WHEN pin_locked_until_us IS NOT NULL THEN 1
                                        ELSE pin_failures + 1 END,
                    pin_locked_until_us = CASE WHEN pin_hash <> @given
                                                AND (CASE WHEN pin_locked_until_us IS NOT NULL THEN 1 ELSE pin_failures + 1 END) >= @max
                                               THEN @lockUntilUs ELSE NULL END
                WHERE id = @userId AND pin_hash IS NOT NULL AND (pin_locked_until_us IS NULL OR pin_locked_until_us <= @nowUs)
                RETURNING CAST(pin_failures AS bigint) AS failures, pin_locked_until_us AS locked_until_us, tier
                """, new { userId, given, max = WrongTriesMax, lockUntilUs, nowUs }, cancellationToken: ct));
            if (row is not null)
            {
                // Counted, locked or cleared: forget the state held here (before the stripe is released) and in other processes.
                await states.ChangedAsync(userId);
                if (row.failures == 0)
                {
                    // The gate's identity check and the limits ask for the tier next: this statement has read it already.
                    tiers.Remember(userId, Tiers.UserTiers.FromStored(row.tier));
                    return new PinCheck(PinCheckOutcome.Accepted);
                }
                if (row.locked_until_us is not { } until) return new PinCheck(PinCheckOutcome.Wrong, AttemptsLeft: WrongTriesMax - (int)row.failures);
                // Only the request whose wrong PIN was the last allowed one gets here: it records the lock, once.
                await RecordLockAsync(connection, userId, until, clientAddress, ct);
                return new PinCheck(PinCheckOutcome.Locked, LockedUntil: TimeProviderExtensions.FromUnixMicroseconds(until));
            }
        }

        // No PIN sent, or the statement matched no row: no PIN set, or locked.
        var state = await connection.QuerySingleOrDefaultAsync<StateRow>(new CommandDefinition(
            "SELECT pin_hash, pin_locked_until_us AS locked_until_us FROM users WHERE id = @userId", new { userId }, cancellationToken: ct));
        if (state?.pin_hash is null) return new PinCheck(PinCheckOutcome.NotSet);
        if (state.locked_until_us is { } lockedUs && lockedUs > nowUs)
            return new PinCheck(PinCheckOutcome.Locked, LockedUntil: TimeProviderExtensions.FromUnixMicroseconds(lockedUs));
        return pin.Length == 0
            ? new PinCheck(PinCheckOutcome.Missing)
            // The PIN was set between the statement and this read: as if the PIN were wrong, without counting it.
            : new PinCheck(PinCheckOutcome.Wrong, AttemptsLeft: WrongTriesMax);
    }

    private async Task RecordLockAsync(System.Data.Common.DbConnection connection, Guid userId, long untilUs, string? clientAddress, CancellationToken ct)
    {
        var untilChina = TimeProviderExtensions.FromUnixMicroseconds(untilUs).ToOffset(TimeSpan.FromHours(8))
            .ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await events.AppendAsync(connection, tx, userId, SecurityEventKind.PinLocked, null, clientAddress, "until " + untilChina + " China time", ct,
            SecurityAlert.PinLocked(untilChina));
        await tx.CommitAsync(ct);
    }

    private string Hash(Guid userId, string pin) => IdentityKeys.Hash(keys.PaymentPins, userId.ToString("N"), pin);

    private sealed class PinRow
    {
        public long failures { get; init; }
        public long? locked_until_us { get; init; }
        public long tier { get; init; }
    }

    private sealed class StateRow
    {
        public string? pin_hash { get; init; }
        public long? locked_until_us { get; init; }
    }
}
