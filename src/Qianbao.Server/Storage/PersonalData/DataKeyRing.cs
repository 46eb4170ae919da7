using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Storage.PersonalData;

/// <summary>One AES-256 data key and the id every value sealed with it carries.</summary>
internal sealed record DataKey(string Id, byte[] Key);

/// <summary>
/// The keys personal data is sealed and indexed with, kept outside the database: <c>Qianbao:Security:DataKeys</c>
/// (<c>id:base64,id:base64</c>, newest first; the first seals, all open) and <c>Qianbao:Security:IndexKey</c> (the
/// blind-index key, base64). In sandbox mode either may be unset: it is then generated once into
/// <c>&lt;DataDir&gt;/data-keys</c> or <c>&lt;DataDir&gt;/index-key</c> (same syntax) and read from there on later starts.
/// Production mode requires both (see <see cref="ProductionModeRules"/>).
/// </summary>
/// <remarks>
/// A keyed check value of each key (HMAC of a constant, useless for guessing a 256-bit key) is recorded in the database's
/// <c>settings</c> the first time the key is used, and compared at every start: a process configured with another key
/// under the same id, or another index key (say a second process with its own generated data directory), refuses to start
/// instead of writing values the others cannot read or indexes they cannot find.
/// </remarks>
internal sealed partial class DataKeyRing
{
    public const int KeyBytes = 32;
    public const string DataKeysFile = "data-keys";
    public const string IndexKeyFile = "index-key";
    private const string DataKeysKey = "Qianbao:Security:DataKeys";
    private const string IndexKeyKey = "Qianbao:Security:IndexKey";

    private readonly Dictionary<string, DataKey> byId;

    public DataKeyRing(IReadOnlyList<DataKey> keys, byte[] indexKey)
    {
        Qianbao.Ledger.Invariant.That(keys.Count > 0 && indexKey.Length == KeyBytes, "a key ring has a current key and a 32-byte index key");
        Keys = keys;
        Current = keys[0];
        IndexKey = indexKey;
        byId = keys.ToDictionary(k => k.Id, StringComparer.Ordinal);
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<DataKey> Keys { get; }

    /// <summary>The key new values are sealed with.</summary>
    public DataKey Current { get; }

    public byte[] IndexKey { get; }

    public DataKey? Find(string id) => byId.GetValueOrDefault(id);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex KeyId();

    /// <summary>Parses <c>id:base64,id:base64</c>; the problem (worded after the key's name) when it is not that.</summary>
    public static string? TryParseKeys(string? text, out List<DataKey> keys)
    {
        keys = [];
        if (string.IsNullOrWhiteSpace(text)) return "must list at least one key as id:base64 (was empty)";
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            var id = colon > 0 ? part[..colon] : "";
            if (!KeyId().IsMatch(id)) return "must be id:base64 entries separated by commas, each id 1-32 letters, digits, '-' or '_'";
            if (TryKey(part[(colon + 1)..]) is not { } key) return $"key '{id}' must be {KeyBytes} bytes in base64 (openssl rand -base64 {KeyBytes})";
            if (keys.Any(k => k.Id == id)) return $"lists key id '{id}' twice";
            keys.Add(new DataKey(id, key));
        }
        return keys.Count == 0 ? "must list at least one key as id:base64 (was empty)" : null;
    }

    /// <summary>A 32-byte key in base64, or null.</summary>
    public static byte[]? TryKey(string? text)
    {
        var buffer = new byte[KeyBytes + 3];
        return text is not null && Convert.TryFromBase64String(text.Trim(), buffer, out var written) && written == KeyBytes ? buffer[..KeyBytes] : null;
    }

    /// <summary>The configured keys, or (sandbox) those in the data directory, generated on first start; checked against the database.</summary>
    public static DataKeyRing Load(string? dataKeys, string? indexKey, QianbaoOptions options, Db db)
    {
        var problems = new List<string>();
        var keysText = Configured(dataKeys) ?? FromDataDir(options, DataKeysFile, problems, () => "k1:" + NewKey());
        var indexText = Configured(indexKey) ?? FromDataDir(options, IndexKeyFile, problems, NewKey);
        List<DataKey> keys = [];
        if (keysText is not null && TryParseKeys(keysText, out keys) is { } keysProblem) problems.Add($"{DataKeysKey} {keysProblem}");
        var index = indexText is null ? null : TryKey(indexText);
        if (indexText is not null && index is null) problems.Add($"{IndexKeyKey} must be {KeyBytes} bytes in base64 (openssl rand -base64 {KeyBytes})");
        if (problems.Count > 0) throw new ConfigurationRefusedException(problems);
        var ring = new DataKeyRing(keys, index!);
        ring.CheckAgainst(db);
        return ring;
    }

    private static string? Configured(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string? FromDataDir(QianbaoOptions options, string file, List<string> problems, Func<string> generate)
    {
        if (options.Mode != QianbaoMode.Sandbox)
        {
            problems.Add($"{(file == DataKeysFile ? DataKeysKey : IndexKeyKey)} must be set in production mode (was unset)");
            return null;
        }
        Directory.CreateDirectory(options.DataDir);
        var path = Path.Combine(options.DataDir, file);
        if (!File.Exists(path))
        {
            // Written whole to a file of its own, then moved into place without replacing: two hosts starting on one data
            // directory at once keep the first one's key, and no reader ever sees a file half written.
            var draft = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // never readable by others, not even briefly
            using (var writer = new StreamWriter(draft, Encoding.ASCII, fileOptions)) writer.Write(generate() + "\n");
            try
            {
                File.Move(draft, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(draft); // the other one moved its key in first
            }
        }
        return File.ReadAllText(path).Trim();
    }

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));

    private void CheckAgainst(Db db)
    {
        using var connection = db.OpenAsync().AsTask().GetAwaiter().GetResult();
        var problems = new List<string>();
        foreach (var key in Keys)
        {
            if (!Same(connection, "data_key_check:" + key.Id, Check(key.Key)))
                problems.Add($"{DataKeysKey}: key '{key.Id}' is not the key of that id this database's personal data was sealed with");
        }
        if (!Same(connection, "index_key_check", Check(IndexKey)))
            problems.Add($"{IndexKeyKey} is not the index key this database's personal data was indexed with (every process on one database needs the same keys)");
        if (problems.Count > 0) throw new ConfigurationRefusedException(problems);
    }

    private static bool Same(System.Data.Common.DbConnection connection, string name, string value)
    {
        connection.Execute("INSERT INTO settings (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING", new { name, value });
        return connection.QuerySingle<string>("SELECT value FROM settings WHERE name = @name", new { name }) == value;
    }

    private static string Check(byte[] key) => Convert.ToHexStringLower(HMACSHA256.HashData(key, "qianbao/key-check"u8));
}
