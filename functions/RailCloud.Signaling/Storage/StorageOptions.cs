using System.ComponentModel.DataAnnotations;

namespace RailCloud.Signaling.Storage;

/// <summary><c>Storage</c>: Table Storage by connection string (Azurite) or by service URI with managed identity.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "Storage";

    public string? ConnectionString { get; set; }

    public Uri? TableServiceUri { get; set; }

    /// <summary>Prefix for table names, so several environments (or test runs) can share one account.</summary>
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{0,20}$")]
    public string TablePrefix { get; set; } = "railcloud";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && TableServiceUri is null)
        {
            yield return new ValidationResult("Set Storage:ConnectionString (Azurite) or Storage:TableServiceUri (managed identity).");
        }
    }
}
