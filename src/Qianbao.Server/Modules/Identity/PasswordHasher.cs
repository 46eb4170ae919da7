using System.Globalization;
using System.Security.Cryptography;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// PBKDF2-HMAC-SHA256 with a random 16-byte salt, stored as <c>pbkdf2-sha256$iterations$salt$hash</c> so the
/// cost can rise without invalidating old hashes. (Argon2 is not available as a package here.)
/// </summary>
internal sealed class PasswordHasher(int iterations)
{
    public const int IterationsDefault = 600_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public string Hash(string password) => HashWith(iterations, password);

    private static string HashWith(int iterations, string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"pbkdf2-sha256${iterations.ToString(CultureInfo.InvariantCulture)}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != "pbkdf2-sha256" || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var n) || n < 1) return false;
        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, n, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>A hash of nothing in particular, verified when a phone is unknown so timing does not reveal it.</summary>
    public string DecoyHash { get; } = HashWith(iterations, "decoy");
}
