"""Countries for the calling settings: every region Google's libphonenumber (phonenumbers)
can validate a number for, with its English and French name (CLDR, via babel 2.18) and a default
IANA time zone (the first zone of that country in tzdata's zone.tab, except where MAIN_TIME_ZONES
says otherwise).

Generated once so the site needs no extra dependency; phonenumbers is pinned, so the set only
changes when we bump it (tests/test_service_setup.py checks they still agree)."""

import unicodedata
import zoneinfo
from functools import lru_cache

from django.utils.translation import get_language

# code: (English name, French name, default time zone)
COUNTRIES = {
    'AC': ('Ascension Island', 'Île de l’Ascension', 'Atlantic/St_Helena'),
    'AD': ('Andorra', 'Andorre', 'Europe/Andorra'),
    'AE': ('United Arab Emirates', 'Émirats arabes unis', 'Asia/Dubai'),
    'AF': ('Afghanistan', 'Afghanistan', 'Asia/Kabul'),
    'AG': ('Antigua & Barbuda', 'Antigua-et-Barbuda', 'America/Antigua'),
    'AI': ('Anguilla', 'Anguilla', 'America/Anguilla'),
    'AL': ('Albania', 'Albanie', 'Europe/Tirane'),
    'AM': ('Armenia', 'Arménie', 'Asia/Yerevan'),
    'AO': ('Angola', 'Angola', 'Africa/Luanda'),
    'AR': ('Argentina', 'Argentine', 'America/Argentina/Buenos_Aires'),
    'AS': ('American Samoa', 'Samoa américaines', 'Pacific/Pago_Pago'),
    'AT': ('Austria', 'Autriche', 'Europe/Vienna'),
    'AU': ('Australia', 'Australie', 'Australia/Lord_Howe'),
    'AW': ('Aruba', 'Aruba', 'America/Aruba'),
    'AX': ('Åland Islands', 'Îles Åland', 'Europe/Mariehamn'),
    'AZ': ('Azerbaijan', 'Azerbaïdjan', 'Asia/Baku'),
    'BA': ('Bosnia & Herzegovina', 'Bosnie-Herzégovine', 'Europe/Sarajevo'),
    'BB': ('Barbados', 'Barbade', 'America/Barbados'),
    'BD': ('Bangladesh', 'Bangladesh', 'Asia/Dhaka'),
    'BE': ('Belgium', 'Belgique', 'Europe/Brussels'),
    'BF': ('Burkina Faso', 'Burkina Faso', 'Africa/Ouagadougou'),
    'BG': ('Bulgaria', 'Bulgarie', 'Europe/Sofia'),
    'BH': ('Bahrain', 'Bahreïn', 'Asia/Bahrain'),
    'BI': ('Burundi', 'Burundi', 'Africa/Bujumbura'),
    'BJ': ('Benin', 'Bénin', 'Africa/Porto-Novo'),
    'BL': ('St. Barthélemy', 'Saint-Barthélemy', 'America/St_Barthelemy'),
    'BM': ('Bermuda', 'Bermudes', 'Atlantic/Bermuda'),
    'BN': ('Brunei', 'Brunei', 'Asia/Brunei'),
    'BO': ('Bolivia', 'Bolivie', 'America/La_Paz'),
    'BQ': ('Caribbean Netherlands', 'Pays-Bas caribéens', 'America/Kralendijk'),
    'BR': ('Brazil', 'Brésil', 'America/Noronha'),
    'BS': ('Bahamas', 'Bahamas', 'America/Nassau'),
    'BT': ('Bhutan', 'Bhoutan', 'Asia/Thimphu'),
    'BW': ('Botswana', 'Botswana', 'Africa/Gaborone'),
    'BY': ('Belarus', 'Biélorussie', 'Europe/Minsk'),
    'BZ': ('Belize', 'Belize', 'America/Belize'),
    'CA': ('Canada', 'Canada', 'America/St_Johns'),
    'CC': ('Cocos (Keeling) Islands', 'Îles Cocos', 'Indian/Cocos'),
    'CD': ('Congo - Kinshasa', 'Congo-Kinshasa', 'Africa/Kinshasa'),
    'CF': ('Central African Republic', 'République centrafricaine', 'Africa/Bangui'),
    'CG': ('Congo - Brazzaville', 'Congo-Brazzaville', 'Africa/Brazzaville'),
    'CH': ('Switzerland', 'Suisse', 'Europe/Zurich'),
    'CI': ('Côte d’Ivoire', 'Côte d’Ivoire', 'Africa/Abidjan'),
    'CK': ('Cook Islands', 'Îles Cook', 'Pacific/Rarotonga'),
    'CL': ('Chile', 'Chili', 'America/Santiago'),
    'CM': ('Cameroon', 'Cameroun', 'Africa/Douala'),
    'CN': ('China', 'Chine', 'Asia/Shanghai'),
    'CO': ('Colombia', 'Colombie', 'America/Bogota'),
    'CR': ('Costa Rica', 'Costa Rica', 'America/Costa_Rica'),
    'CU': ('Cuba', 'Cuba', 'America/Havana'),
    'CV': ('Cape Verde', 'Cap-Vert', 'Atlantic/Cape_Verde'),
    'CW': ('Curaçao', 'Curaçao', 'America/Curacao'),
    'CX': ('Christmas Island', 'Île Christmas', 'Indian/Christmas'),
    'CY': ('Cyprus', 'Chypre', 'Asia/Nicosia'),
    'CZ': ('Czechia', 'Tchéquie', 'Europe/Prague'),
    'DE': ('Germany', 'Allemagne', 'Europe/Berlin'),
    'DJ': ('Djibouti', 'Djibouti', 'Africa/Djibouti'),
    'DK': ('Denmark', 'Danemark', 'Europe/Copenhagen'),
    'DM': ('Dominica', 'Dominique', 'America/Dominica'),
    'DO': ('Dominican Republic', 'République dominicaine', 'America/Santo_Domingo'),
    'DZ': ('Algeria', 'Algérie', 'Africa/Algiers'),
    'EC': ('Ecuador', 'Équateur', 'America/Guayaquil'),
    'EE': ('Estonia', 'Estonie', 'Europe/Tallinn'),
    'EG': ('Egypt', 'Égypte', 'Africa/Cairo'),
    'EH': ('Western Sahara', 'Sahara occidental', 'Africa/El_Aaiun'),
    'ER': ('Eritrea', 'Érythrée', 'Africa/Asmara'),
    'ES': ('Spain', 'Espagne', 'Europe/Madrid'),
    'ET': ('Ethiopia', 'Éthiopie', 'Africa/Addis_Ababa'),
    'FI': ('Finland', 'Finlande', 'Europe/Helsinki'),
    'FJ': ('Fiji', 'Fidji', 'Pacific/Fiji'),
    'FK': ('Falkland Islands', 'Îles Malouines', 'Atlantic/Stanley'),
    'FM': ('Micronesia', 'Micronésie', 'Pacific/Chuuk'),
    'FO': ('Faroe Islands', 'Îles Féroé', 'Atlantic/Faroe'),
    'FR': ('France', 'France', 'Europe/Paris'),
    'GA': ('Gabon', 'Gabon', 'Africa/Libreville'),
    'GB': ('United Kingdom', 'Royaume-Uni', 'Europe/London'),
    'GD': ('Grenada', 'Grenade', 'America/Grenada'),
    'GE': ('Georgia', 'Géorgie', 'Asia/Tbilisi'),
    'GF': ('French Guiana', 'Guyane française', 'America/Cayenne'),
    'GG': ('Guernsey', 'Guernesey', 'Europe/Guernsey'),
    'GH': ('Ghana', 'Ghana', 'Africa/Accra'),
    'GI': ('Gibraltar', 'Gibraltar', 'Europe/Gibraltar'),
    'GL': ('Greenland', 'Groenland', 'America/Nuuk'),
    'GM': ('Gambia', 'Gambie', 'Africa/Banjul'),
    'GN': ('Guinea', 'Guinée', 'Africa/Conakry'),
    'GP': ('Guadeloupe', 'Guadeloupe', 'America/Guadeloupe'),
    'GQ': ('Equatorial Guinea', 'Guinée équatoriale', 'Africa/Malabo'),
    'GR': ('Greece', 'Grèce', 'Europe/Athens'),
    'GT': ('Guatemala', 'Guatemala', 'America/Guatemala'),
    'GU': ('Guam', 'Guam', 'Pacific/Guam'),
    'GW': ('Guinea-Bissau', 'Guinée-Bissau', 'Africa/Bissau'),
    'GY': ('Guyana', 'Guyana', 'America/Guyana'),
    'HK': ('Hong Kong SAR China', 'R.A.S. chinoise de Hong Kong', 'Asia/Hong_Kong'),
    'HN': ('Honduras', 'Honduras', 'America/Tegucigalpa'),
    'HR': ('Croatia', 'Croatie', 'Europe/Zagreb'),
    'HT': ('Haiti', 'Haïti', 'America/Port-au-Prince'),
    'HU': ('Hungary', 'Hongrie', 'Europe/Budapest'),
    'ID': ('Indonesia', 'Indonésie', 'Asia/Jakarta'),
    'IE': ('Ireland', 'Irlande', 'Europe/Dublin'),
    'IL': ('Israel', 'Israël', 'Asia/Jerusalem'),
    'IM': ('Isle of Man', 'Île de Man', 'Europe/Isle_of_Man'),
    'IN': ('India', 'Inde', 'Asia/Kolkata'),
    'IO': ('British Indian Ocean Territory', 'Territoire britannique de l’océan Indien', 'Indian/Chagos'),
    'IQ': ('Iraq', 'Irak', 'Asia/Baghdad'),
    'IR': ('Iran', 'Iran', 'Asia/Tehran'),
    'IS': ('Iceland', 'Islande', 'Atlantic/Reykjavik'),
    'IT': ('Italy', 'Italie', 'Europe/Rome'),
    'JE': ('Jersey', 'Jersey', 'Europe/Jersey'),
    'JM': ('Jamaica', 'Jamaïque', 'America/Jamaica'),
    'JO': ('Jordan', 'Jordanie', 'Asia/Amman'),
    'JP': ('Japan', 'Japon', 'Asia/Tokyo'),
    'KE': ('Kenya', 'Kenya', 'Africa/Nairobi'),
    'KG': ('Kyrgyzstan', 'Kirghizstan', 'Asia/Bishkek'),
    'KH': ('Cambodia', 'Cambodge', 'Asia/Phnom_Penh'),
    'KI': ('Kiribati', 'Kiribati', 'Pacific/Tarawa'),
    'KM': ('Comoros', 'Comores', 'Indian/Comoro'),
    'KN': ('St. Kitts & Nevis', 'Saint-Christophe-et-Niévès', 'America/St_Kitts'),
    'KP': ('North Korea', 'Corée du Nord', 'Asia/Pyongyang'),
    'KR': ('South Korea', 'Corée du Sud', 'Asia/Seoul'),
    'KW': ('Kuwait', 'Koweït', 'Asia/Kuwait'),
    'KY': ('Cayman Islands', 'Îles Caïmans', 'America/Cayman'),
    'KZ': ('Kazakhstan', 'Kazakhstan', 'Asia/Almaty'),
    'LA': ('Laos', 'Laos', 'Asia/Vientiane'),
    'LB': ('Lebanon', 'Liban', 'Asia/Beirut'),
    'LC': ('St. Lucia', 'Sainte-Lucie', 'America/St_Lucia'),
    'LI': ('Liechtenstein', 'Liechtenstein', 'Europe/Vaduz'),
    'LK': ('Sri Lanka', 'Sri Lanka', 'Asia/Colombo'),
    'LR': ('Liberia', 'Liberia', 'Africa/Monrovia'),
    'LS': ('Lesotho', 'Lesotho', 'Africa/Maseru'),
    'LT': ('Lithuania', 'Lituanie', 'Europe/Vilnius'),
    'LU': ('Luxembourg', 'Luxembourg', 'Europe/Luxembourg'),
    'LV': ('Latvia', 'Lettonie', 'Europe/Riga'),
    'LY': ('Libya', 'Libye', 'Africa/Tripoli'),
    'MA': ('Morocco', 'Maroc', 'Africa/Casablanca'),
    'MC': ('Monaco', 'Monaco', 'Europe/Monaco'),
    'MD': ('Moldova', 'Moldavie', 'Europe/Chisinau'),
    'ME': ('Montenegro', 'Monténégro', 'Europe/Podgorica'),
    'MF': ('St. Martin', 'Saint-Martin', 'America/Marigot'),
    'MG': ('Madagascar', 'Madagascar', 'Indian/Antananarivo'),
    'MH': ('Marshall Islands', 'Îles Marshall', 'Pacific/Majuro'),
    'MK': ('North Macedonia', 'Macédoine du Nord', 'Europe/Skopje'),
    'ML': ('Mali', 'Mali', 'Africa/Bamako'),
    'MM': ('Myanmar (Burma)', 'Myanmar (Birmanie)', 'Asia/Yangon'),
    'MN': ('Mongolia', 'Mongolie', 'Asia/Ulaanbaatar'),
    'MO': ('Macao SAR China', 'R.A.S. chinoise de Macao', 'Asia/Macau'),
    'MP': ('Northern Mariana Islands', 'Îles Mariannes du Nord', 'Pacific/Saipan'),
    'MQ': ('Martinique', 'Martinique', 'America/Martinique'),
    'MR': ('Mauritania', 'Mauritanie', 'Africa/Nouakchott'),
    'MS': ('Montserrat', 'Montserrat', 'America/Montserrat'),
    'MT': ('Malta', 'Malte', 'Europe/Malta'),
    'MU': ('Mauritius', 'Maurice', 'Indian/Mauritius'),
    'MV': ('Maldives', 'Maldives', 'Indian/Maldives'),
    'MW': ('Malawi', 'Malawi', 'Africa/Blantyre'),
    'MX': ('Mexico', 'Mexique', 'America/Mexico_City'),
    'MY': ('Malaysia', 'Malaisie', 'Asia/Kuala_Lumpur'),
    'MZ': ('Mozambique', 'Mozambique', 'Africa/Maputo'),
    'NA': ('Namibia', 'Namibie', 'Africa/Windhoek'),
    'NC': ('New Caledonia', 'Nouvelle-Calédonie', 'Pacific/Noumea'),
    'NE': ('Niger', 'Niger', 'Africa/Niamey'),
    'NF': ('Norfolk Island', 'Île Norfolk', 'Pacific/Norfolk'),
    'NG': ('Nigeria', 'Nigeria', 'Africa/Lagos'),
    'NI': ('Nicaragua', 'Nicaragua', 'America/Managua'),
    'NL': ('Netherlands', 'Pays-Bas', 'Europe/Amsterdam'),
    'NO': ('Norway', 'Norvège', 'Europe/Oslo'),
    'NP': ('Nepal', 'Népal', 'Asia/Kathmandu'),
    'NR': ('Nauru', 'Nauru', 'Pacific/Nauru'),
    'NU': ('Niue', 'Niue', 'Pacific/Niue'),
    'NZ': ('New Zealand', 'Nouvelle-Zélande', 'Pacific/Auckland'),
    'OM': ('Oman', 'Oman', 'Asia/Muscat'),
    'PA': ('Panama', 'Panama', 'America/Panama'),
    'PE': ('Peru', 'Pérou', 'America/Lima'),
    'PF': ('French Polynesia', 'Polynésie française', 'Pacific/Tahiti'),
    'PG': ('Papua New Guinea', 'Papouasie-Nouvelle-Guinée', 'Pacific/Port_Moresby'),
    'PH': ('Philippines', 'Philippines', 'Asia/Manila'),
    'PK': ('Pakistan', 'Pakistan', 'Asia/Karachi'),
    'PL': ('Poland', 'Pologne', 'Europe/Warsaw'),
    'PM': ('St. Pierre & Miquelon', 'Saint-Pierre-et-Miquelon', 'America/Miquelon'),
    'PR': ('Puerto Rico', 'Porto Rico', 'America/Puerto_Rico'),
    'PS': ('Palestinian Territories', 'Territoires palestiniens', 'Asia/Gaza'),
    'PT': ('Portugal', 'Portugal', 'Europe/Lisbon'),
    'PW': ('Palau', 'Palaos', 'Pacific/Palau'),
    'PY': ('Paraguay', 'Paraguay', 'America/Asuncion'),
    'QA': ('Qatar', 'Qatar', 'Asia/Qatar'),
    'RE': ('Réunion', 'La Réunion', 'Indian/Reunion'),
    'RO': ('Romania', 'Roumanie', 'Europe/Bucharest'),
    'RS': ('Serbia', 'Serbie', 'Europe/Belgrade'),
    'RU': ('Russia', 'Russie', 'Europe/Kaliningrad'),
    'RW': ('Rwanda', 'Rwanda', 'Africa/Kigali'),
    'SA': ('Saudi Arabia', 'Arabie saoudite', 'Asia/Riyadh'),
    'SB': ('Solomon Islands', 'Îles Salomon', 'Pacific/Guadalcanal'),
    'SC': ('Seychelles', 'Seychelles', 'Indian/Mahe'),
    'SD': ('Sudan', 'Soudan', 'Africa/Khartoum'),
    'SE': ('Sweden', 'Suède', 'Europe/Stockholm'),
    'SG': ('Singapore', 'Singapour', 'Asia/Singapore'),
    'SH': ('St. Helena', 'Sainte-Hélène', 'Atlantic/St_Helena'),
    'SI': ('Slovenia', 'Slovénie', 'Europe/Ljubljana'),
    'SJ': ('Svalbard & Jan Mayen', 'Svalbard et Jan Mayen', 'Arctic/Longyearbyen'),
    'SK': ('Slovakia', 'Slovaquie', 'Europe/Bratislava'),
    'SL': ('Sierra Leone', 'Sierra Leone', 'Africa/Freetown'),
    'SM': ('San Marino', 'Saint-Marin', 'Europe/San_Marino'),
    'SN': ('Senegal', 'Sénégal', 'Africa/Dakar'),
    'SO': ('Somalia', 'Somalie', 'Africa/Mogadishu'),
    'SR': ('Suriname', 'Suriname', 'America/Paramaribo'),
    'SS': ('South Sudan', 'Soudan du Sud', 'Africa/Juba'),
    'ST': ('São Tomé & Príncipe', 'Sao Tomé-et-Principe', 'Africa/Sao_Tome'),
    'SV': ('El Salvador', 'Salvador', 'America/El_Salvador'),
    'SX': ('Sint Maarten', 'Saint-Martin (partie néerlandaise)', 'America/Lower_Princes'),
    'SY': ('Syria', 'Syrie', 'Asia/Damascus'),
    'SZ': ('Eswatini', 'Eswatini', 'Africa/Mbabane'),
    'TA': ('Tristan da Cunha', 'Tristan da Cunha', 'Atlantic/St_Helena'),
    'TC': ('Turks & Caicos Islands', 'Îles Turques-et-Caïques', 'America/Grand_Turk'),
    'TD': ('Chad', 'Tchad', 'Africa/Ndjamena'),
    'TG': ('Togo', 'Togo', 'Africa/Lome'),
    'TH': ('Thailand', 'Thaïlande', 'Asia/Bangkok'),
    'TJ': ('Tajikistan', 'Tadjikistan', 'Asia/Dushanbe'),
    'TK': ('Tokelau', 'Tokelau', 'Pacific/Fakaofo'),
    'TL': ('Timor-Leste', 'Timor oriental', 'Asia/Dili'),
    'TM': ('Turkmenistan', 'Turkménistan', 'Asia/Ashgabat'),
    'TN': ('Tunisia', 'Tunisie', 'Africa/Tunis'),
    'TO': ('Tonga', 'Tonga', 'Pacific/Tongatapu'),
    'TR': ('Türkiye', 'Turquie', 'Europe/Istanbul'),
    'TT': ('Trinidad & Tobago', 'Trinité-et-Tobago', 'America/Port_of_Spain'),
    'TV': ('Tuvalu', 'Tuvalu', 'Pacific/Funafuti'),
    'TW': ('Taiwan', 'Taïwan', 'Asia/Taipei'),
    'TZ': ('Tanzania', 'Tanzanie', 'Africa/Dar_es_Salaam'),
    'UA': ('Ukraine', 'Ukraine', 'Europe/Simferopol'),
    'UG': ('Uganda', 'Ouganda', 'Africa/Kampala'),
    'US': ('United States', 'États-Unis', 'America/New_York'),
    'UY': ('Uruguay', 'Uruguay', 'America/Montevideo'),
    'UZ': ('Uzbekistan', 'Ouzbékistan', 'Asia/Samarkand'),
    'VA': ('Vatican City', 'État de la Cité du Vatican', 'Europe/Vatican'),
    'VC': ('St. Vincent & Grenadines', 'Saint-Vincent-et-les Grenadines', 'America/St_Vincent'),
    'VE': ('Venezuela', 'Venezuela', 'America/Caracas'),
    'VG': ('British Virgin Islands', 'Îles Vierges britanniques', 'America/Tortola'),
    'VI': ('U.S. Virgin Islands', 'Îles Vierges des États-Unis', 'America/St_Thomas'),
    'VN': ('Vietnam', 'Viêt Nam', 'Asia/Ho_Chi_Minh'),
    'VU': ('Vanuatu', 'Vanuatu', 'Pacific/Efate'),
    'WF': ('Wallis & Futuna', 'Wallis-et-Futuna', 'Pacific/Wallis'),
    'WS': ('Samoa', 'Samoa', 'Pacific/Apia'),
    'XK': ('Kosovo', 'Kosovo', 'Europe/Belgrade'),
    'YE': ('Yemen', 'Yémen', 'Asia/Aden'),
    'YT': ('Mayotte', 'Mayotte', 'Indian/Mayotte'),
    'ZA': ('South Africa', 'Afrique du Sud', 'Africa/Johannesburg'),
    'ZM': ('Zambia', 'Zambie', 'Africa/Lusaka'),
    'ZW': ('Zimbabwe', 'Zimbabwe', 'Africa/Harare'),
}

# zone.tab lists a country's zones in tzdata's own order (often east to west), not by importance:
# for these its first entry is an island or a border region. Here: the capital's or most people's.
MAIN_TIME_ZONES = {
    'AU': 'Australia/Sydney',       # not Lord Howe Island
    'BR': 'America/Sao_Paulo',      # not Fernando de Noronha
    'CA': 'America/Toronto',        # not Newfoundland
    'FM': 'Pacific/Pohnpei',        # the capital, Palikir
    'RU': 'Europe/Moscow',          # not Kaliningrad
    'UA': 'Europe/Kyiv',            # not Crimea
    'UZ': 'Asia/Tashkent',          # the capital
}

# Areas of canonical IANA zones; the rest of zoneinfo's list is legacy aliases (US/Eastern,
# Etc/GMT+5, posixrules...) a person would not look for.
TIME_ZONE_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
                   "Europe", "Indian", "Pacific")


def _sort_key(name):
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def country_name(code, language=None):
    names = COUNTRIES.get(code)
    if names is None:
        return code
    return names[1] if (language or get_language() or "en").startswith("fr") else names[0]


@lru_cache(maxsize=4)
def _country_choices(french):
    index = 1 if french else 0
    return tuple(sorted(((code, names[index]) for code, names in COUNTRIES.items()),
                        key=lambda pair: _sort_key(pair[1])))


def country_choices():
    """(code, name) pairs sorted by name in the current language."""
    return list(_country_choices((get_language() or "en").startswith("fr")))


def default_time_zone(country):
    return MAIN_TIME_ZONES.get(country) or COUNTRIES.get(country, (None, None, "UTC"))[2]


@lru_cache(maxsize=1)
def time_zones():
    """The canonical IANA zones on this machine, plus UTC."""
    return frozenset(["UTC"] + [name for name in zoneinfo.available_timezones()
                                if name.split("/", 1)[0] in TIME_ZONE_AREAS and "/" in name])


@lru_cache(maxsize=1)
def time_zone_choices():
    """Grouped by area for the select: [("Europe", [("Europe/Paris", "Europe/Paris"), ...])]."""
    groups = {}
    for name in sorted(time_zones() - {"UTC"}):
        area, _, place = name.partition("/")
        groups.setdefault(area, []).append((name, name.replace("_", " ")))
    return [("UTC", "UTC")] + [(area, places) for area, places in sorted(groups.items())]
