using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// The sessions revoked while their access tokens may still be unexpired, consulted by the
/// <see cref="Authentication.RequireUser{TBuilder}"/> filter without a database read per request (see <see cref="RevokedIds"/>).
/// </summary>
internal sealed class RevokedSessions : RevokedIds;

/// <summary>Keeps <see cref="RevokedSessions"/> current with every process's revocations (see <see cref="RevokedIdsWatcher"/>).</summary>
internal sealed class RevocationWatcher(Db db, RevokedSessions revoked, TokenService tokens, TimeProvider clock, ILogger<RevocationWatcher> logger)
    : RevokedIdsWatcher(db, revoked, tokens.Lifetime, clock, logger, "revoked sessions",
        "SELECT id, revoked_at_us FROM sessions WHERE revoked_at_us > @sinceUs");
